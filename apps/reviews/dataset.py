"""The dataset export's two encodings, streamed line by line: CSV and JSON Lines.

Both the page and the API call these, so a row reads the same wherever it is fetched.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator

from django.http import StreamingHttpResponse
from django.utils import timezone

from apps.reviews.selectors import DATASET_FIELDS, dataset_input_text, dataset_rows

# A spreadsheet runs a cell starting with one of these as a formula (CSV injection):
# such cells get a leading apostrophe (OWASP's advice), which shows the text as typed.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        value = json.dumps(value, ensure_ascii=False)
    elif hasattr(value, "isoformat"):
        value = value.isoformat()
    text = str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


class _Echo:
    """A file-like object whose write returns the line, for csv.writer in a generator."""

    def write(self, value: str) -> str:
        return value


def csv_lines(rows: Iterable[dict]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(DATASET_FIELDS)
    for row in rows:
        yield writer.writerow([csv_cell(row[field]) for field in DATASET_FIELDS])


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


def jsonl_lines(rows: Iterable[dict]) -> Iterator[str]:
    for row in rows:
        yield json.dumps(jsonl_record(row), ensure_ascii=False) + "\n"


def dataset_response(*, file: str, slug: str, **filters) -> StreamingHttpResponse:
    """Stream the dataset as a download (the page and the API both answer with this)."""
    rows = dataset_rows(**filters)
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    if file == "csv":
        response = StreamingHttpResponse(csv_lines(rows), content_type="text/csv; charset=utf-8")
    else:
        response = StreamingHttpResponse(jsonl_lines(rows), content_type="application/x-ndjson")
    response["Content-Disposition"] = f'attachment; filename="reviews-{slug}-{stamp}.{file}"'
    return response
