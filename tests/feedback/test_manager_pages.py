import csv
import io
import json

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.feedback.models import Learning
from tests.conftest import OTHER_HOST
from tests.factories.crm import AccountFactory
from tests.factories.feedback import FeedbackEntryFactory, LearningFactory
from tests.factories.outcomes import CloneFactory, OutcomeFactory, action_type

SUMMARY = "/feedback/summary/"
LEARNINGS = "/feedback/learnings/"
EXPORT = "/feedback/export/"
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def rated(rep, other_rep):
    """Two reps' ratings over two action types and one clone."""
    clone = CloneFactory(owner=rep, name="Rory's clone")
    email = OutcomeFactory(account=AccountFactory(owner=rep), clone=clone, output_text="Hi, ok?")
    meeting = OutcomeFactory(
        account=AccountFactory(owner=other_rep), action_type=action_type("meeting_request")
    )
    FeedbackEntryFactory(outcome=email, user=rep, rating=1)
    FeedbackEntryFactory(outcome=email, user=other_rep, rating=-1)
    FeedbackEntryFactory(outcome=meeting, user=other_rep, rating=0)
    FeedbackEntryFactory(
        outcome=email, user=rep, kind="dashboard", rating=4, comment="Crisp and friendly"
    )
    return email, meeting


def _row(rows, name):
    return next(row for row in rows if row["name"] == name)


def test_manager_sees_the_distribution_per_action_type_and_per_clone(page_client, manager, rated):
    response = page_client(manager).get(SUMMARY)
    assert response.status_code == 200
    data = response.context["data"]
    email = _row(data["by_action_type"], "Email sent")
    assert (email["negative"], email["neutral"], email["positive"]) == (1, 0, 1)
    assert email["detailed_average"] == 4
    assert email["net"] == 0
    meeting = _row(data["by_action_type"], "Meeting request")
    assert meeting["neutral"] == 1 and meeting["neutral_pct"] == 100
    clone = _row(data["by_clone"], "Rory's clone")
    assert clone["positive"] == 1
    assert _row(data["by_clone"], None)["neutral"] == 1
    html = response.content.decode()
    assert "Crisp and friendly" in html
    assert "No persona" in html


def test_the_summary_runs_a_fixed_number_of_queries(
    page_client, manager, rated, rep, django_assert_max_num_queries
):
    client = page_client(manager)
    with django_assert_max_num_queries(12) as small:
        client.get(SUMMARY)
    for index in range(20):
        clone = CloneFactory(owner=rep)
        outcome = OutcomeFactory(clone=clone, account=AccountFactory(owner=rep))
        FeedbackEntryFactory(
            outcome=outcome, user=rep, kind="dashboard", rating=3, comment=f"c{index}"
        )
    with django_assert_max_num_queries(len(small)):
        assert client.get(SUMMARY).status_code == 200


def test_a_rep_cannot_open_the_team_feedback_summary(page_client, rep):
    assert page_client(rep).get(SUMMARY).status_code == 403


def test_an_executive_sees_the_summary_without_export_links(page_client, executive, rated):
    response = page_client(executive).get(SUMMARY)
    assert response.status_code == 200
    assert EXPORT not in response.content.decode()


def test_a_bad_period_is_a_400_with_a_form_error(page_client, manager):
    response = page_client(manager).get(SUMMARY, {"days": "forever"})
    assert response.status_code == 400
    assert "form-error" in response.content.decode()


def test_the_summary_is_read_only(page_client, manager):
    assert page_client(manager).post(SUMMARY).status_code == 405


def test_the_summary_shows_nothing_of_another_org(page_client, manager, other_org, in_org):
    with in_org(other_org):
        FeedbackEntryFactory(rating=2, kind="dashboard", comment="Globex only comment")
    response = page_client(manager).get(SUMMARY)
    assert response.context["data"]["totals"]["entries"] == 0
    assert "Globex only comment" not in response.content.decode()


def test_a_manager_session_does_not_open_globex(page_client, manager, other_org):
    response = page_client(manager, host=OTHER_HOST).get(SUMMARY)
    assert response.status_code == 302


# --- learnings page -----------------------------------------------------------------------


def test_the_learnings_page_ranks_and_shows_evidence(page_client, manager):
    LearningFactory(title="Weak", relevance_score=0.2, confidence_score=0.5)
    LearningFactory(
        title="Strong",
        relevance_score=0.9,
        confidence_score=0.8,
        evidence={
            "dimension": "length",
            "value": "short",
            "good_with": 6,
            "good_total": 6,
            "poor_with": 0,
            "poor_total": 6,
            "lift": 1.0,
        },
    )
    response = page_client(manager).get(LEARNINGS)
    assert response.status_code == 200
    assert [learning.title for learning in response.context["learnings"]] == ["Strong", "Weak"]
    assert "6 of 6 well-rated outputs" in response.content.decode()


def test_the_learnings_page_filters_inactive_and_by_category(page_client, manager):
    LearningFactory(title="On", category="timing")
    LearningFactory(title="Off", is_active=False)
    client = page_client(manager)
    assert [x.title for x in client.get(LEARNINGS).context["learnings"]] == ["On"]
    inactive = client.get(LEARNINGS, {"status": "inactive"}).context["learnings"]
    assert [x.title for x in inactive] == ["Off"]
    timing = client.get(LEARNINGS, {"status": "all", "category": "timing"}).context["learnings"]
    assert [x.title for x in timing] == ["On"]
    assert client.get(LEARNINGS, {"status": "gone"}).status_code == 400


def test_the_learnings_page_runs_a_fixed_number_of_queries(
    page_client, manager, django_assert_max_num_queries
):
    client = page_client(manager)
    LearningFactory.create_batch(2, action_type=action_type("email_sent"))
    with django_assert_max_num_queries(8) as small:
        client.get(LEARNINGS)
    LearningFactory.create_batch(30, action_type=action_type("escalation"))
    LearningFactory.create_batch(
        5, is_hurting=True, lift=-0.5, lift_low=-0.9, lift_high=-0.1, lift_sample=9
    )
    LearningFactory(is_hurting=True, kept_at=timezone.now(), kept_by=manager, created_by=manager)
    with django_assert_max_num_queries(len(small)):
        assert "Hurting" in client.get(LEARNINGS).content.decode()


def test_a_manager_deactivates_and_reactivates_a_learning_through_htmx(page_client, manager):
    learning = LearningFactory(title="Keep it short")
    url = reverse("feedback:learning-active", args=[learning.pk])
    client = page_client(manager)

    response = client.post(url, {"is_active": "0"}, **HTMX)
    assert response.status_code == 200
    assert response.content.decode().lstrip().startswith(f'<tr id="learning-{learning.pk}"')
    assert "Reactivate" in response.content.decode()
    assert "inactive" in response["HX-Trigger"]
    learning.refresh_from_db()
    assert not learning.is_active

    response = client.post(url, {"is_active": "1"})
    assert response.status_code == 302
    learning.refresh_from_db()
    assert learning.is_active


def test_toggling_a_learning_with_bad_input_is_a_400(page_client, manager):
    learning = LearningFactory()
    url = reverse("feedback:learning-active", args=[learning.pk])
    client = page_client(manager)
    assert client.post(url, {"is_active": "maybe"}, **HTMX).status_code == 400
    assert client.post(url, {}).status_code == 400
    learning.refresh_from_db()
    assert learning.is_active


def test_only_managers_may_manage_learnings(page_client, rep, executive):
    learning = LearningFactory()
    url = reverse("feedback:learning-active", args=[learning.pk])
    assert page_client(rep).get(LEARNINGS).status_code == 403
    assert page_client(executive).post(url, {"is_active": "0"}).status_code == 403
    assert Learning.objects.get().is_active


def test_a_learning_id_of_another_org_is_a_404(page_client, manager, other_org, in_org):
    with in_org(other_org):
        theirs = LearningFactory()
    if not Learning.objects.filter(pk=theirs.pk).exists():
        url = reverse("feedback:learning-active", args=[theirs.pk])
        assert page_client(manager).post(url, {"is_active": "0"}).status_code == 404


def test_toggle_is_post_only(page_client, manager):
    learning = LearningFactory()
    url = reverse("feedback:learning-active", args=[learning.pk])
    assert page_client(manager).get(url).status_code == 405


# --- export -------------------------------------------------------------------------------


def _body(response) -> str:
    return b"".join(response.streaming_content).decode()


def test_csv_export_streams_every_rating_with_its_output(page_client, manager, rated):
    email, _ = rated
    response = page_client(manager).get(EXPORT, {"format": "csv"})
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(_body(response))))
    assert len(rows) == 4
    first = rows[0]
    assert first["outcome_external_id"] == email.external_id
    assert first["action_type"] == "email_sent"
    assert first["output_text"] == "Hi, ok?"
    assert first["rated_by"] == "rory"


def test_jsonl_export_has_one_json_object_per_line(page_client, manager, rated):
    response = page_client(manager).get(EXPORT, {"format": "jsonl", "kind": "dashboard"})
    assert response["Content-Type"] == "application/x-ndjson"
    lines = _body(response).splitlines()
    assert len(lines) == 1
    record = json.loads(lines[0])
    assert record["rating"] == 4 and record["comment"] == "Crisp and friendly"
    assert record["kind"] == "dashboard"


def test_export_filters_by_action_type(page_client, manager, rated):
    response = page_client(manager).get(
        EXPORT, {"format": "jsonl", "action_type": "meeting_request"}
    )
    assert [json.loads(line)["rating"] for line in _body(response).splitlines()] == [0]


@pytest.mark.parametrize("query", [{}, {"format": "xml"}, {"format": "csv", "days": "-1"}])
def test_export_with_bad_parameters_is_a_400(page_client, manager, query):
    response = page_client(manager).get(EXPORT, query)
    assert response.status_code == 400


def test_export_is_for_managers_only(page_client, rep, executive):
    assert page_client(rep).get(EXPORT, {"format": "csv"}).status_code == 403
    assert page_client(executive).get(EXPORT, {"format": "csv"}).status_code == 403


def test_export_is_get_only(page_client, manager):
    assert page_client(manager).post(EXPORT, {"format": "csv"}).status_code == 405


def test_export_holds_only_this_orgs_feedback(page_client, manager, rated, other_org, in_org):
    with in_org(other_org):
        FeedbackEntryFactory(kind="dashboard", rating=1, comment="globex secret")
    body = _body(page_client(manager).get(EXPORT, {"format": "jsonl"}))
    assert "globex secret" not in body
    assert len(body.splitlines()) == 4


def test_export_runs_one_query_for_the_rows_whatever_their_number(
    page_client, manager, rated, rep, django_assert_max_num_queries
):
    for outcome in OutcomeFactory.create_batch(30, account=AccountFactory(owner=rep)):
        FeedbackEntryFactory(outcome=outcome, user=rep)
    client = page_client(manager)
    with django_assert_max_num_queries(8):
        body = _body(client.get(EXPORT, {"format": "csv"}))
    assert len(body.splitlines()) == 35
