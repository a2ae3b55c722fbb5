"""The feedback export never hands a spreadsheet a formula (issue 20, point 7).

A comment such as ``=cmd|' /C calc'!A0`` opened in Excel or LibreOffice from the CSV would
run; every text cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return is written with a leading apostrophe, which spreadsheets show as text.
"""

import csv
import io
import json

import pytest

from apps.feedback.views import csv_cell
from tests.factories.crm import AccountFactory
from tests.factories.feedback import FeedbackEntryFactory
from tests.factories.outcomes import OutcomeFactory

EXPORT = "/feedback/export/"
PAYLOADS = [
    "=cmd|' /C calc'!A0",
    "+SUM(1,2)",
    "-2+3",
    "@SUM(A1:A2)",
    "\t=1+1",
    "\r=1+1",
]


def _body(response) -> str:
    return b"".join(response.streaming_content).decode()


@pytest.fixture
def hostile(rep):
    outcome = OutcomeFactory(
        account=AccountFactory(owner=rep), output_text='=HYPERLINK("http://evil","x")'
    )
    for index, payload in enumerate(PAYLOADS):
        FeedbackEntryFactory(
            outcome=OutcomeFactory(account=outcome.account) if index else outcome,
            user=rep,
            kind="dashboard",
            rating=2,
            comment=payload,
            negative_notes=payload,
        )
    FeedbackEntryFactory(
        outcome=OutcomeFactory(account=outcome.account),
        user=rep,
        kind="inline",
        rating=-1,
        comment="Fine as it is - really",
    )
    return outcome


def test_csv_cells_that_a_spreadsheet_would_run_are_escaped(page_client, manager, hostile):
    rows = list(
        csv.DictReader(io.StringIO(_body(page_client(manager).get(EXPORT, {"format": "csv"}))))
    )
    comments = [row["comment"] for row in rows]
    assert comments == [f"'{payload}" for payload in PAYLOADS] + ["Fine as it is - really"]
    assert [row["negative_notes"] for row in rows[:6]] == [f"'{p}" for p in PAYLOADS]
    assert rows[0]["output_text"] == '\'=HYPERLINK("http://evil","x")'
    # numbers stay numbers: a −1 rating is not text to escape
    assert rows[-1]["rating"] == "-1" and rows[0]["rating"] == "2"


def test_no_exported_csv_cell_starts_a_formula(page_client, manager, hostile):
    body = _body(page_client(manager).get(EXPORT, {"format": "csv"}))
    for row in csv.reader(io.StringIO(body)):
        for cell in row:
            assert not cell.startswith(("=", "+", "@", "\t", "\r")), cell
            assert not (cell.startswith("-") and not cell.lstrip("-").replace(".", "").isdigit())


def test_json_lines_keep_the_text_as_written(page_client, manager, hostile):
    lines = _body(page_client(manager).get(EXPORT, {"format": "jsonl"})).splitlines()
    assert [json.loads(line)["comment"] for line in lines][:6] == PAYLOADS


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=1+1", "'=1+1"),
        ("plain", "plain"),
        ("", ""),
        (None, ""),
        (-1, -1),
        (0.25, 0.25),
        (["=a", "b"], "'=a; b"),
        (["ok", "=b"], "ok; =b"),
    ],
)
def test_csv_cell_escapes_only_text_that_begins_a_formula(value, cell):
    assert csv_cell(value) == cell
