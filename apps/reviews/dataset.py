"""The dataset export's two encodings, streamed a page at a time: CSV and JSON Lines.

Both the page and the API answer with ``dataset_download``, so a row reads the same
wherever it is fetched.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from django.http import HttpRequest, StreamingHttpResponse

from apps.reviews.selectors import DATASET_FIELDS, dataset_input_text, dataset_pages
from apps.web.downloads import csv_lines, download, spreadsheet_safe


def csv_cell(value) -> object:
    """One value as a safe CSV cell: JSON for scores, ISO times, text a spreadsheet would
    run escaped."""
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        value = json.dumps(value, ensure_ascii=False)
    elif hasattr(value, "isoformat"):
        value = value.isoformat()
    return spreadsheet_safe(str(value))


def csv_parts(pages: Iterator[list[dict]]) -> Iterator[str]:
    yield csv_lines([DATASET_FIELDS])
    for rows in pages:
        yield csv_lines([csv_cell(row[field]) for field in DATASET_FIELDS] for row in rows)


def jsonl_record(row: dict) -> dict:
    """A fine-tuning record: input (the context as text), output (what the agent wrote),
    ideal (the correction, else the output when it was reviewed without one), scores (the
    item's score per rubric), and the full context and every score for reference."""
    context = {
        field: (row[field].isoformat() if hasattr(row[field], "isoformat") else row[field])
        for field in DATASET_FIELDS
        if field not in {"output", "correction", "correction_diff", "scores", "item_scores"}
    }
    return {
        "input": dataset_input_text(row),
        "output": row["output"],
        "ideal": row["correction"] or row["output"],
        "scores": row["item_scores"],
        "corrected": row["correction"] is not None,
        "context": context,
        "all_scores": row["scores"],
    }


def jsonl_parts(pages: Iterator[list[dict]]) -> Iterator[str]:
    for rows in pages:
        yield "".join(json.dumps(jsonl_record(row), ensure_ascii=False) + "\n" for row in rows)


def dataset_download(request: HttpRequest, *, file: str, **filters) -> StreamingHttpResponse:
    """Stream the dataset as a download (the page and the API both answer with this)."""
    encode = csv_parts if file == "csv" else jsonl_parts
    return download(
        request, name="reviews", file=file, parts=lambda: encode(dataset_pages(**filters))
    )
