"""The detailed feedback fields, the team's feedback list, and correcting or withdrawing."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.feedback.models import FeedbackAspect, FeedbackEntry
from apps.users.services import api_key_create
from tests.conftest import OTHER_HOST
from tests.factories.crm import AccountFactory
from tests.factories.feedback import FeedbackEntryFactory
from tests.factories.outcomes import OutcomeFactory
from tests.factories.users import UserFactory

FEEDBACK = "/api/v1/feedback/"


@pytest.fixture
def rep_api(api_client, rep_key):
    return api_client(rep_key)


@pytest.fixture
def sasha_api(api_client, other_rep):
    return api_client(api_key_create(name="sasha", user=other_rep)[1])


def _detailed(outcome, **extra) -> dict:
    return {
        "outcome": outcome.pk,
        "kind": "dashboard",
        "rating": 4,
        "positive_aspects": ["clear", "good-ask"],
        "negative_aspects": ["generic"],
        "positive_notes": " Short and to the point ",
        "negative_notes": "Opening fits anyone.",
        "feature_requests": ["Offer two slots", "  "],
        "error_category": "tone",
        "error_details": "Too casual for a bank.",
        **extra,
    }


def test_the_organisation_starts_with_a_list_of_aspects(org):
    assert set(FeedbackAspect.objects.values_list("polarity", flat=True)) == {
        "positive",
        "negative",
    }
    assert FeedbackAspect.objects.filter(code="clear", polarity="positive").exists()


def test_detailed_feedback_keeps_aspects_notes_requests_and_error_context(rep_api, rory_output):
    response = rep_api.post(FEEDBACK, _detailed(rory_output), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["positive_aspects"] == ["clear", "good-ask"]
    assert body["negative_aspects"] == ["generic"]
    assert body["positive_notes"] == "Short and to the point"
    assert body["feature_requests"] == ["Offer two slots"]
    assert (body["error_category"], body["feedback_source"]) == ("tone", "api")
    entry = FeedbackEntry.objects.get()
    assert sorted(entry.aspects.values_list("code", flat=True)) == ["clear", "generic", "good-ask"]
    assert entry.error_details == "Too casual for a bank."


def test_feedback_source_may_say_email(rep_api, rory_output):
    response = rep_api.post(
        FEEDBACK,
        {"outcome": rory_output.pk, "kind": "inline", "rating": 1, "feedback_source": "email"},
        format="json",
    )
    assert response.status_code == 201
    assert FeedbackEntry.objects.get().feedback_source == "email"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"positive_aspects": ["generic"]}, "positive_aspects"),  # a negative one
        ({"negative_aspects": ["no-such-aspect"]}, "negative_aspects"),
        ({"positive_aspects": "clear"}, "positive_aspects"),
        ({"feature_requests": ["x"] * 11}, "feature_requests"),
        ({"feature_requests": ["x" * 301]}, "feature_requests"),
        ({"error_category": "gremlins"}, "error_category"),
        ({"error_details": "x" * 2001}, "error_details"),
        ({"feedback_source": "pigeon"}, "feedback_source"),
        ({"kind": "inline", "rating": 1}, "positive_aspects"),
    ],
)
def test_bad_detail_is_a_400_naming_the_field_and_stores_nothing(
    rep_api, rory_output, change, field
):
    response = rep_api.post(FEEDBACK, _detailed(rory_output, **change), format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not FeedbackEntry.objects.exists()


def test_a_retired_aspect_is_no_longer_accepted(rep_api, rory_output):
    FeedbackAspect.objects.filter(code="clear").update(is_active=False)
    response = rep_api.post(FEEDBACK, _detailed(rory_output), format="json")
    assert response.status_code == 400 and "positive_aspects" in response.json()


def test_another_orgs_aspect_list_is_its_own(rep_api, rory_output, other_org, in_org):
    with in_org(other_org):
        FeedbackAspect.objects.create(code="globex-only", label="Globex", polarity="positive")
    response = rep_api.post(
        FEEDBACK, _detailed(rory_output, positive_aspects=["globex-only"]), format="json"
    )
    assert response.status_code == 400


# --- listing --------------------------------------------------------------------------------


@pytest.fixture
def team_feedback(rep, other_rep, rory_output, sasha_output):
    old = FeedbackEntryFactory(user=rep, outcome=rory_output, kind="inline", rating=1)
    FeedbackEntry.objects.filter(pk=old.pk).update(updated_at=timezone.now() - timedelta(days=40))
    mine = FeedbackEntryFactory(user=rep, outcome=rory_output, kind="dashboard", rating=5)
    theirs = FeedbackEntryFactory(user=other_rep, outcome=sasha_output, kind="inline", rating=-1)
    return old, mine, theirs


def _ids(response) -> list[int]:
    assert response.status_code == 200, response.json()
    return [row["id"] for row in response.json()["results"]]


def test_a_manager_lists_the_teams_feedback_and_filters_it(
    manager_api, team_feedback, rep, rory_output
):
    old, mine, theirs = team_feedback
    assert _ids(manager_api.get(FEEDBACK)) == [theirs.pk, mine.pk, old.pk]
    assert _ids(manager_api.get(FEEDBACK, {"user": "rory"})) == [mine.pk, old.pk]
    assert _ids(manager_api.get(FEEDBACK, {"outcome": rory_output.pk})) == [mine.pk, old.pk]
    assert _ids(manager_api.get(FEEDBACK, {"kind": "inline"})) == [theirs.pk, old.pk]
    since = (timezone.now() - timedelta(days=7)).isoformat()
    assert _ids(manager_api.get(FEEDBACK, {"since": since})) == [theirs.pk, mine.pk]


def test_a_rep_still_sees_only_their_own(rep_api, team_feedback):
    old, mine, theirs = team_feedback
    assert _ids(rep_api.get(FEEDBACK)) == [mine.pk, old.pk]
    assert _ids(rep_api.get(FEEDBACK, {"user": "sasha"})) == []
    assert rep_api.get(f"{FEEDBACK}{theirs.pk}/").status_code == 404


def test_an_executive_reads_the_teams_feedback_but_cannot_rate(
    api_client, executive, team_feedback
):
    client = api_client(api_key_create(name="erin", user=executive)[1])
    assert len(_ids(client.get(FEEDBACK))) == 3
    assert client.post(FEEDBACK, {}, format="json").status_code == 403


@pytest.mark.parametrize(
    "query", [{"since": "yesterday"}, {"outcome": "x"}, {"kind": "stars"}, {"outcome": "-1"}]
)
def test_bad_list_filters_are_a_400(manager_api, query):
    assert manager_api.get(FEEDBACK, query).status_code == 400


def test_the_list_runs_a_fixed_number_of_queries(
    manager_api, team_feedback, rep, django_assert_max_num_queries
):
    with django_assert_max_num_queries(8) as small:
        manager_api.get(FEEDBACK)
    aspects = list(FeedbackAspect.objects.all()[:3])
    for outcome in OutcomeFactory.create_batch(30, account=AccountFactory(owner=rep)):
        FeedbackEntryFactory(user=rep, outcome=outcome, kind="dashboard", rating=3).aspects.set(
            aspects
        )
    with django_assert_max_num_queries(len(small)):
        assert len(_ids(manager_api.get(FEEDBACK))) == 33


def test_another_orgs_feedback_is_not_listed(
    api_client, team_feedback, other_org, other_org_manager, in_org
):
    with in_org(other_org):
        key = api_key_create(name="globex", user=other_org_manager)[1]
    client = api_client(key, host=OTHER_HOST)
    assert _ids(client.get(FEEDBACK)) == []
    assert client.get(f"{FEEDBACK}{team_feedback[0].pk}/").status_code == 404


# --- correct and withdraw -------------------------------------------------------------------


def test_the_author_corrects_their_feedback(rep_api, rory_output):
    entry_id = rep_api.post(FEEDBACK, _detailed(rory_output), format="json").json()["id"]
    response = rep_api.patch(
        f"{FEEDBACK}{entry_id}/", {"rating": 2, "negative_aspects": ["too-long"]}, format="json"
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["rating"], body["negative_aspects"]) == (2, ["too-long"])
    assert body["positive_aspects"] == ["clear", "good-ask"]  # untouched
    assert body["error_category"] == "tone"
    entry = FeedbackEntry.objects.get()
    assert entry.rating == 2 and entry.outcome == rory_output


def test_a_bad_correction_is_a_400_and_changes_nothing(rep_api, rory_output):
    entry_id = rep_api.post(FEEDBACK, _detailed(rory_output), format="json").json()["id"]
    for body in ({"rating": 9}, {"positive_aspects": ["nope"]}, {"usefulness": 0}):
        response = rep_api.patch(f"{FEEDBACK}{entry_id}/", body, format="json")
        assert response.status_code == 400, body
    entry = FeedbackEntry.objects.get()
    assert entry.rating == 4 and entry.aspects.count() == 3


def test_the_outcome_and_kind_of_an_entry_cannot_be_changed(rep_api, rory_output, rep):
    other = OutcomeFactory(account=AccountFactory(owner=rep))
    entry_id = rep_api.post(FEEDBACK, _detailed(rory_output), format="json").json()["id"]
    response = rep_api.patch(
        f"{FEEDBACK}{entry_id}/", {"outcome": other.pk, "kind": "inline"}, format="json"
    )
    assert response.status_code == 200
    entry = FeedbackEntry.objects.get()
    assert (entry.outcome, entry.kind) == (rory_output, "dashboard")


def test_the_author_withdraws_their_feedback(rep_api, rory_output):
    entry_id = rep_api.post(FEEDBACK, _detailed(rory_output), format="json").json()["id"]
    assert rep_api.delete(f"{FEEDBACK}{entry_id}/").status_code == 204
    assert not FeedbackEntry.objects.exists()
    assert rep_api.delete(f"{FEEDBACK}{entry_id}/").status_code == 404


def test_a_manager_reads_but_cannot_change_a_reps_feedback(manager_api, team_feedback):
    _, mine, _ = team_feedback
    assert manager_api.get(f"{FEEDBACK}{mine.pk}/").status_code == 200
    assert (
        manager_api.patch(f"{FEEDBACK}{mine.pk}/", {"rating": 1}, format="json").status_code == 403
    )
    assert manager_api.delete(f"{FEEDBACK}{mine.pk}/").status_code == 403
    mine.refresh_from_db()
    assert mine.rating == 5


def test_another_rep_cannot_change_or_withdraw_mine(sasha_api, team_feedback):
    _, mine, _ = team_feedback
    assert sasha_api.patch(f"{FEEDBACK}{mine.pk}/", {"rating": 1}, format="json").status_code == 404
    assert sasha_api.delete(f"{FEEDBACK}{mine.pk}/").status_code == 404
    assert FeedbackEntry.objects.filter(pk=mine.pk, rating=5).exists()


def test_another_org_cannot_change_or_withdraw_ours(
    api_client, rep_api, team_feedback, other_org, in_org
):

    _, mine, _ = team_feedback
    with in_org(other_org):
        globex_rep = UserFactory(username="gina", role="rep")
        key = api_key_create(name="gina", user=globex_rep)[1]
    client = api_client(key, host=OTHER_HOST)
    assert client.patch(f"{FEEDBACK}{mine.pk}/", {"rating": 1}, format="json").status_code == 404
    assert client.delete(f"{FEEDBACK}{mine.pk}/").status_code == 404
    assert rep_api.get(f"{FEEDBACK}{mine.pk}/").json()["rating"] == 5
