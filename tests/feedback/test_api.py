from datetime import timedelta

import pytest
from django.utils import timezone

from apps.feedback.models import FeedbackEntry, LearningApplication
from apps.feedback.services import learnings_refresh_scores
from apps.outcomes.models import OutcomeRecord
from apps.users.services import api_key_create
from tests.conftest import OTHER_HOST
from tests.factories.feedback import LearningFactory
from tests.factories.outcomes import action_type

FEEDBACK = "/api/v1/feedback/"
LEARNINGS = "/api/v1/learnings/"


@pytest.fixture
def rep_api(api_client, rep_key):
    return api_client(rep_key)


def test_rep_rates_an_output_on_their_account_inline(rep_api, rory_output, rep):
    response = rep_api.post(
        FEEDBACK, {"outcome": rory_output.pk, "kind": "inline", "rating": 1}, format="json"
    )
    assert response.status_code == 201, response.json()
    assert response.json()["rating"] == 1
    assert response.json()["user"] == rep.username
    entry = FeedbackEntry.objects.get()
    assert (entry.user, entry.outcome, entry.rating) == (rep, rory_output, 1)


def test_rating_again_through_the_api_updates_and_answers_200(rep_api, rory_output):
    body = {"outcome": rory_output.pk, "kind": "inline", "rating": 1}
    assert rep_api.post(FEEDBACK, body, format="json").status_code == 201
    response = rep_api.post(FEEDBACK, body | {"rating": 0}, format="json")
    assert response.status_code == 200
    assert FeedbackEntry.objects.get().rating == 0


def test_detailed_feedback_with_dimensions_is_stored(rep_api, rory_output):
    body = {
        "outcome": rory_output.pk,
        "kind": "dashboard",
        "rating": 5,
        "comment": "Would send as is",
        "usefulness": 5,
        "quality": 4,
        "clarity": 5,
        "likelihood_to_reuse": 10,
        "would_recommend": True,
    }
    response = rep_api.post(FEEDBACK, body, format="json")
    assert response.status_code == 201
    assert response.json()["likelihood_to_reuse"] == 10
    assert FeedbackEntry.objects.get().comment == "Would send as is"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "inline", "rating": 5}, "rating"),
        ({"kind": "dashboard", "rating": 0}, "rating"),
        ({"kind": "dashboard", "rating": 3, "likelihood_to_reuse": 11}, "likelihood_to_reuse"),
        ({"kind": "dashboard", "rating": 3, "usefulness": 9}, "usefulness"),
        ({"kind": "inline", "rating": 1, "clarity": 4}, "clarity"),
        ({"kind": "stars", "rating": 3}, "kind"),
        ({"kind": "inline", "rating": "lots"}, "rating"),
        ({"kind": "inline"}, "rating"),
        ({"kind": "dashboard", "rating": 99999999999}, "rating"),
    ],
)
def test_wrong_scale_for_the_kind_is_a_400_naming_the_field_and_stores_nothing(
    rep_api, rory_output, body, field
):
    response = rep_api.post(FEEDBACK, {"outcome": rory_output.pk, **body}, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not FeedbackEntry.objects.exists()


def test_a_rep_cannot_rate_another_reps_output(rep_api, sasha_output):
    response = rep_api.post(
        FEEDBACK, {"outcome": sasha_output.pk, "kind": "inline", "rating": 1}, format="json"
    )
    assert response.status_code == 400
    assert "outcome" in response.json()
    assert not FeedbackEntry.objects.exists()


def test_an_executive_cannot_rate(api_client, executive, rory_output):
    key = api_key_create(name="erin", user=executive)[1]
    response = api_client(key).post(
        FEEDBACK, {"outcome": rory_output.pk, "kind": "inline", "rating": 1}, format="json"
    )
    assert response.status_code == 403
    assert not FeedbackEntry.objects.exists()


def test_the_agent_cannot_rate_its_own_output(agent_api, rory_output):
    response = agent_api.post(
        FEEDBACK, {"outcome": rory_output.pk, "kind": "inline", "rating": 1}, format="json"
    )
    assert response.status_code == 403


def test_no_key_is_401(api_client, rory_output):
    response = api_client().post(FEEDBACK, {"outcome": rory_output.pk}, format="json")
    assert response.status_code == 401


def test_an_output_id_of_another_org_is_unknown(rep_api, globex_output):
    assert not OutcomeRecord.objects.filter(pk=globex_output.pk).exists()
    response = rep_api.post(
        FEEDBACK, {"outcome": globex_output.pk, "kind": "inline", "rating": 1}, format="json"
    )
    assert response.status_code == 400
    assert "outcome" in response.json()


def test_a_key_of_acme_does_not_work_on_globex(api_client, rep_key, rory_output):
    response = api_client(rep_key, host=OTHER_HOST).post(
        FEEDBACK, {"outcome": rory_output.pk, "kind": "inline", "rating": 1}, format="json"
    )
    assert response.status_code == 401


def test_a_rep_lists_only_their_own_feedback(rep_api, rep, other_rep, rory_output, sasha_output):
    FeedbackEntry.objects.create(user=rep, outcome=rory_output, kind="inline", rating=1)
    FeedbackEntry.objects.create(user=other_rep, outcome=sasha_output, kind="inline", rating=-1)
    response = rep_api.get(FEEDBACK)
    assert response.status_code == 200
    assert [row["outcome"] for row in response.json()["results"]] == [rory_output.pk]


# --- learnings -----------------------------------------------------------------------------


def test_learnings_are_ranked_by_relevance_times_confidence_times_decay(agent_api):
    now = timezone.now()
    fresh_weak = LearningFactory(
        title="fresh weak", relevance_score=0.5, evidence_positive=3, evidence_total=3
    )
    old_strong = LearningFactory(
        title="old strong",
        relevance_score=1.0,
        evidence_positive=30,
        evidence_total=30,
        extracted_at=now - timedelta(days=300),
    )
    fresh_strong = LearningFactory(
        title="fresh strong", relevance_score=1.0, evidence_positive=30, evidence_total=30
    )
    LearningFactory(title="switched off", relevance_score=1.0, is_active=False)
    learnings_refresh_scores()
    response = agent_api.get(LEARNINGS)
    assert response.status_code == 200
    rows = response.json()
    # fresh strong = 1 × 33/36 × 1.0; old strong ≈ 1 × 33/36 × 0.5005; fresh weak = 0.5 × 6/9
    assert [row["title"] for row in rows] == ["fresh strong", "old strong", "fresh weak"]
    assert rows[0]["rank"] == pytest.approx(33 / 36, abs=1e-3)
    assert rows[1]["current_decay"] == pytest.approx(0.5, abs=1e-3)
    assert {row["id"] for row in rows} == {fresh_weak.pk, old_strong.pk, fresh_strong.pk}


def test_learnings_can_be_narrowed_to_an_action_type_and_limited(agent_api):
    LearningFactory(title="email", action_type=action_type("email_sent"))
    LearningFactory(title="meeting", action_type=action_type("meeting_request"))
    LearningFactory(title="any action")
    response = agent_api.get(LEARNINGS, {"action_type": "email_sent"})
    assert sorted(row["title"] for row in response.json()) == ["any action", "email"]
    assert len(agent_api.get(LEARNINGS, {"limit": 1}).json()) == 1


@pytest.mark.parametrize("query", [{"limit": 0}, {"limit": "many"}, {"category": "vibes"}])
def test_bad_learning_filters_are_a_400(agent_api, query):
    assert agent_api.get(LEARNINGS, query).status_code == 400


def test_learnings_list_runs_a_fixed_number_of_queries(agent_api, django_assert_max_num_queries):
    LearningFactory.create_batch(2, action_type=action_type("email_sent"))
    with django_assert_max_num_queries(6):
        assert agent_api.get(LEARNINGS).status_code == 200
    LearningFactory.create_batch(40, action_type=action_type("email_sent"))
    with django_assert_max_num_queries(6):
        assert len(agent_api.get(LEARNINGS, {"limit": 50}).json()) == 42


def test_the_agent_records_a_use_and_the_counters_move_together(agent_api):
    learning = LearningFactory(evidence_positive=0, evidence_total=0)
    url = f"{LEARNINGS}{learning.pk}/applications/"
    for outcome in ["success", "partial", "failure"]:
        response = agent_api.post(url, {"outcome": outcome, "context": "deal 7"}, format="json")
        assert response.status_code == 201, response.json()
    body = response.json()
    assert body["application_count"] == 3
    assert body["success_rate"] == pytest.approx(0.5)
    assert body["application"]["outcome"] == "failure"
    assert LearningApplication.objects.filter(learning=learning).count() == 3


def test_a_use_can_name_the_outcome_it_produced(agent_api, rory_output):
    learning = LearningFactory()
    response = agent_api.post(
        f"{LEARNINGS}{learning.pk}/applications/",
        {"outcome": "success", "outcome_record": rory_output.external_id},
        format="json",
    )
    assert response.status_code == 201
    assert LearningApplication.objects.get().outcome_record == rory_output


@pytest.mark.parametrize(
    "body",
    [
        {"outcome": "great"},
        {},
        {"outcome": "success", "outcome_record": "no-such-outcome"},
        {"outcome": "success", "metadata": [1, 2]},
        {"outcome": "success", "applied_at": "yesterday"},
    ],
)
def test_a_bad_use_is_a_400_and_counts_nothing(agent_api, body):
    learning = LearningFactory()
    response = agent_api.post(f"{LEARNINGS}{learning.pk}/applications/", body, format="json")
    assert response.status_code == 400
    learning.refresh_from_db()
    assert learning.application_count == 0
    assert not LearningApplication.objects.exists()


def test_a_rep_may_read_learnings_but_not_record_uses(rep_api):
    learning = LearningFactory()
    assert rep_api.get(LEARNINGS).status_code == 200
    response = rep_api.post(
        f"{LEARNINGS}{learning.pk}/applications/", {"outcome": "success"}, format="json"
    )
    assert response.status_code == 403


def test_learnings_of_another_org_are_invisible_and_their_ids_404(
    api_client, other_agent_key, other_org, in_org, agent_api
):
    with in_org(other_org):
        theirs = LearningFactory(title="globex secret")
    mine = LearningFactory(title="acme")
    assert [row["title"] for row in agent_api.get(LEARNINGS).json()] == ["acme"]
    if theirs.pk != mine.pk:
        response = agent_api.post(
            f"{LEARNINGS}{theirs.pk}/applications/", {"outcome": "success"}, format="json"
        )
        assert response.status_code == 404


def test_a_deactivated_learning_is_neither_listed_nor_usable(agent_api):
    learning = LearningFactory(is_active=False)
    assert agent_api.get(LEARNINGS).json() == []
    response = agent_api.post(
        f"{LEARNINGS}{learning.pk}/applications/", {"outcome": "success"}, format="json"
    )
    assert response.status_code == 404


def test_learnings_wrong_method_is_405(agent_api):
    assert agent_api.delete(LEARNINGS).status_code == 405


def test_each_rating_is_judged_with_its_own_rater_and_fields(
    api_client, rep_key, manager, rory_output, sasha_output
):
    """The rating's fields are built once and copied per request (FieldsBuiltOnce): one
    request's rater, errors and values never reach the next."""
    rep_api, manager_api = (
        api_client(rep_key),
        api_client(api_key_create(name="m", user=manager)[1]),
    )
    too_long = ["x" * 41]
    bad = rep_api.post(
        FEEDBACK,
        {
            "outcome": sasha_output.pk,
            "kind": "dashboard",
            "rating": 9,
            "positive_aspects": too_long,
        },
        format="json",
    )
    assert bad.status_code == 400
    assert set(bad.json()) >= {"outcome", "positive_aspects"}  # not Rory's output; too long

    ok = manager_api.post(
        FEEDBACK, {"outcome": sasha_output.pk, "kind": "inline", "rating": 1}, format="json"
    )
    assert ok.status_code == 201, ok.json()  # the manager sees every output
    again = rep_api.post(
        FEEDBACK, {"outcome": sasha_output.pk, "kind": "inline", "rating": 1}, format="json"
    )
    assert again.status_code == 400 and list(again.json()) == ["outcome"]
    mine = rep_api.post(
        FEEDBACK, {"outcome": rory_output.pk, "kind": "inline", "rating": -1}, format="json"
    )
    assert mine.status_code == 201, mine.json()
    assert sorted(FeedbackEntry.objects.values_list("user__username", "rating")) == sorted(
        [(manager.username, 1), (rory_output.account.owner.username, -1)]
    )
