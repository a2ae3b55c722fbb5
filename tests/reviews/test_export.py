"""Dataset export: content, CSV formula escaping, JSONL records, filters, streaming."""

import csv
import io
import json

import pytest
from django.http import StreamingHttpResponse
from django.utils import timezone

from apps.reviews import dataset
from apps.reviews.dataset import csv_cell
from apps.reviews.services import review_submit, score_record
from tests.asgi_request import asgi_get
from tests.factories.crm import AccountFactory, DealFactory, InteractionFactory
from tests.factories.outcomes import CloneFactory, OutcomeFactory, action_type


@pytest.fixture
def reviewed(org, quality, rep, other_rep, make_queue):
    """One email (with deal, clone, customer reply) reviewed twice and corrected once, plus
    one meeting request reviewed once; one unreviewed output."""
    account = AccountFactory(name="Bluefin Logistics", industry="logistics")
    reply = InteractionFactory(
        account=account, direction="inbound", summary="Sounds good, call me."
    )
    email = OutcomeFactory(
        account=account,
        deal=DealFactory(account=account, name="Bluefin renewal"),
        clone=CloneFactory(external_id="clone-x", name="Closer"),
        output_text='=HYPERLINK("http://evil")',
        resolving_interaction=reply,
    )
    meeting = OutcomeFactory(action_type=action_type("meeting_request"), output_text="Meet?")
    OutcomeFactory(output_text="never reviewed")
    queue = make_queue(rubrics=[quality], reviewers=[rep, other_rep], k=2)
    first = queue.items.get(outcome=email)
    review_submit(item=first, reviewer=rep, values={quality.pk: 2}, correction="Hi, a safe email.")
    review_submit(item=first, reviewer=other_rep, values={quality.pk: 4})
    review_submit(item=queue.items.get(outcome=meeting), reviewer=rep, values={quality.pk: 5})
    score_record(outcome=email, rubric=quality, value=1, evaluator="llm-judge")
    return queue, email, meeting


def _body(response) -> str:
    assert isinstance(response, StreamingHttpResponse)
    return b"".join(response.streaming_content).decode()


def test_csv_cells_starting_with_formula_characters_are_escaped():
    for text in ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"]:
        assert csv_cell(text) == "'" + text
    assert csv_cell("Hello") == "Hello" and csv_cell(None) == ""


def test_csv_export_has_one_row_per_reviewed_item_with_everything(page_client, manager, reviewed):
    queue, email, meeting = reviewed
    response = page_client(manager).get(f"/reviews/export/?file=csv&queue={queue.pk}")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(_body(response))))
    assert [row["outcome"] for row in rows] == [email.external_id, meeting.external_id]
    row = rows[0]
    assert row["output"] == '\'=HYPERLINK("http://evil")'  # no formula
    assert row["correction"] == "Hi, a safe email."
    assert "+Hi, a safe email." in row["correction_diff"]
    assert (row["account"], row["deal"], row["clone"]) == (
        "Bluefin Logistics",
        "Bluefin renewal",
        "clone-x",
    )
    assert row["customer_reply"] == "Sounds good, call me."
    scores = json.loads(row["scores"])
    assert {(s["reviewer"], s["evaluator"], s["value"]) for s in scores} == {
        ("rory", None, 2.0),
        ("sasha", None, 4.0),
        (None, "llm-judge", 1.0),
    }
    assert json.loads(row["item_scores"]) == {"Quality": 3.0}  # the reviewers' mean


def test_jsonl_rows_are_ready_for_fine_tuning(api_client, manager_key, reviewed):
    queue, email, _ = reviewed
    response = api_client(manager_key).get(
        f"/api/v1/review-dataset/?queue={queue.pk}&action_type=email_sent"
    )
    assert response.status_code == 200
    lines = _body(response).splitlines()
    assert len(lines) == 1
    record = json.loads(lines[0])
    assert record["output"] == email.output_text  # JSON needs no formula escaping
    assert record["ideal"] == "Hi, a safe email."
    assert record["scores"] == {"Quality": 3.0}
    assert (
        "Account: Bluefin Logistics" in record["input"]
        and "Customer reply: Sounds good" in record["input"]
    )


def test_export_filters_by_clone_and_time(page_client, manager, reviewed):
    _, email, _ = reviewed
    client = page_client(manager)
    by_clone = _body(client.get("/reviews/export/?file=jsonl&clone=clone-x")).splitlines()
    assert [json.loads(line)["context"]["outcome"] for line in by_clone] == [email.external_id]
    tomorrow = (timezone.now() + timezone.timedelta(days=1)).date().isoformat()
    assert _body(client.get(f"/reviews/export/?file=jsonl&since={tomorrow}")) == ""


def test_export_streams_through_a_server_side_cursor(
    page_client, manager, reviewed, django_assert_max_num_queries
):
    client = page_client(manager)
    with django_assert_max_num_queries(8) as queries:  # session, user, form choices, cursor
        response = client.get("/reviews/export/?file=csv")
        body = _body(response)
    assert len(list(csv.reader(io.StringIO(body)))) == 3  # header and the two items
    assert any(query["sql"].startswith("DECLARE") for query in queries.captured_queries)


def test_export_bad_input_and_roles(page_client, api_client, manager, rep, rep_key, reviewed):
    client = page_client(manager)
    assert client.get("/reviews/export/").status_code == 200  # the form
    assert client.get("/reviews/export/?file=xml").status_code == 400
    assert client.get("/reviews/export/?file=csv&since=yesterday").status_code == 400
    assert page_client(rep).get("/reviews/export/?file=csv").status_code == 403
    assert api_client(rep_key).get("/api/v1/review-dataset/").status_code == 403
    assert api_client(rep_key).post("/api/v1/review-dataset/").status_code == 403


def test_export_of_another_organisation_is_empty(
    api_client, other_org, in_org, other_org_manager, reviewed
):
    from apps.users.services import api_key_create

    with in_org(other_org):
        key = api_key_create(name="olga", user=other_org_manager)[1]
        response = api_client(key, host="globex.localhost").get("/api/v1/review-dataset/")
        assert _body(response) == ""
        assert (
            api_client(key, host="globex.localhost")
            .get(f"/api/v1/review-dataset/?queue={reviewed[0].pk}")
            .status_code
            == 400
        )


def test_under_asgi_each_page_is_sent_before_the_next_is_read(
    page_client, manager, manager_key, reviewed, monkeypatch
):
    """Served from a synchronous iterator, Django under ASGI (uvicorn, ``make serve``)
    would read the whole dataset before the first byte and warn; ``asgi_get`` fails then."""
    events: list[str] = []
    pages = dataset.dataset_pages

    def one_row_pages(**filters):
        for page in pages(**filters, chunk_size=1):
            events.append("read")
            yield page

    monkeypatch.setattr(dataset, "dataset_pages", one_row_pages)
    start, body = asgi_get(
        "/reviews/export/", "file=csv", user=manager, on_chunk=lambda _: events.append("sent")
    )
    assert start["status"] == 200
    assert events == ["sent"] + ["read", "sent"] * 2  # the header, then one page per item
    assert body == b"".join(page_client(manager).get("/reviews/export/?file=csv").streaming_content)
    start, body = asgi_get("/api/v1/review-dataset/", "file=jsonl", key=manager_key)
    assert start["status"] == 200 and len(body.decode().splitlines()) == 2
