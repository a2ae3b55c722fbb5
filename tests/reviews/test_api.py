"""API: scores, review queues, examples (ranking), the persona's examples; isolation."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.feedback.models import FeedbackEntry
from apps.reviews.models import Correction, ReviewQueue, Rubric, Score
from apps.reviews.services import correction_record, score_record
from tests.factories.outcomes import CloneFactory, OutcomeFactory, action_type
from tests.factories.reviews import RubricFactory


@pytest.fixture
def rep_api(api_client, rep_key):
    return api_client(rep_key)


def test_agent_posts_an_automated_score(agent_api, quality):
    outcome = OutcomeFactory()
    body = {"outcome": outcome.pk, "rubric": "Quality", "value": 4, "evaluator": "llm-judge"}
    first = agent_api.post("/api/v1/scores/", body, format="json")
    assert first.status_code == 201, first.json()
    assert first.json()["source"] == "api" and first.json()["user"] is None
    again = agent_api.post("/api/v1/scores/", body | {"value": 5}, format="json")
    assert again.status_code == 200
    score = Score.objects.get()
    assert (score.source, score.evaluator, score.value) == ("api", "llm-judge", 5)


def test_persons_score_has_source_human(rep_api, rep, quality):
    outcome = OutcomeFactory(account__owner=rep)
    response = rep_api.post(
        "/api/v1/scores/",
        {"outcome_external_id": outcome.external_id, "rubric": str(quality.pk), "value": 3},
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["source"] == "human" and response.json()["user"] == "rory"


def test_agent_score_without_evaluator_or_as_human_is_400(agent_api, quality):
    outcome = OutcomeFactory()
    base = {"outcome": outcome.pk, "rubric": "Quality", "value": 4}
    assert agent_api.post("/api/v1/scores/", base, format="json").status_code == 400
    response = agent_api.post(
        "/api/v1/scores/", base | {"source": "human", "evaluator": "x"}, format="json"
    )
    assert response.status_code == 400 and "source" in response.json()


@pytest.mark.parametrize("value", [0, 6, 2.5, "five", None, [1]])
def test_bad_score_values_are_400_and_store_nothing(agent_api, quality, value):
    outcome = OutcomeFactory()
    body = {"outcome": outcome.pk, "rubric": "Quality", "value": value, "evaluator": "judge"}
    response = agent_api.post("/api/v1/scores/", body, format="json")
    assert response.status_code == 400
    assert not Score.objects.exists()


def test_score_on_unknown_rubric_or_outcome_is_400(agent_api, quality):
    outcome = OutcomeFactory()
    for body in [
        {"outcome": outcome.pk, "rubric": "Nope", "value": 1, "evaluator": "j"},
        {"outcome": 999999, "rubric": "Quality", "value": 1, "evaluator": "j"},
        {"rubric": "Quality", "value": 1, "evaluator": "j"},
    ]:
        assert agent_api.post("/api/v1/scores/", body, format="json").status_code == 400


def test_score_on_builtin_rubric_by_a_person_is_their_rating(rep_api, rep):
    outcome = OutcomeFactory(account__owner=rep)
    response = rep_api.post(
        "/api/v1/scores/", {"outcome": outcome.pk, "rubric": "Inline rating", "value": -1}
    )
    assert response.status_code == 201
    assert FeedbackEntry.objects.get(outcome=outcome, user=rep).rating == -1


def test_executive_cannot_score(api_client, executive, quality):
    from apps.users.services import api_key_create

    key = api_key_create(name="erin", user=executive)[1]
    response = api_client(key).post(
        "/api/v1/scores/", {"outcome": OutcomeFactory().pk, "rubric": "Quality", "value": 1}
    )
    assert response.status_code == 403


def test_scores_endpoint_wrong_method(agent_api):
    assert agent_api.get("/api/v1/scores/").status_code == 405


def test_scores_of_another_organisation_are_invisible(
    other_org, in_org, other_agent_key, api_client, agent_api, quality
):
    outcome = OutcomeFactory()
    with in_org(other_org):
        RubricFactory(name="Quality")
        globex = api_client(other_agent_key, host="globex.localhost")
        response = globex.post(
            "/api/v1/scores/",
            {"outcome": outcome.pk, "rubric": "Quality", "value": 3, "evaluator": "j"},
            format="json",
        )
        assert response.status_code == 400  # acme's outcome id means nothing there
        other_outcome = OutcomeFactory(external_id="globex-1")
        score_record(
            outcome=other_outcome, rubric=Rubric.objects.get(name="Quality"), value=2, evaluator="j"
        )
    assert not Score.objects.exists()
    response = agent_api.post(
        "/api/v1/scores/",
        {"outcome_external_id": "globex-1", "rubric": "Quality", "value": 3, "evaluator": "j"},
        format="json",
    )
    assert response.status_code == 400


# --- Review queues ------------------------------------------------------------------


def test_manager_creates_a_queue_through_the_api(manager_api, quality, rep, outputs):
    response = manager_api.post(
        "/api/v1/review-queues/",
        {
            "name": "Autonomous emails",
            "rubrics": ["Quality"],
            "action_types": ["email_sent"],
            "sample_rate": 1.0,
            "reviewers": ["rory"],
            "reviewer_roles": ["manager"],
            "reviews_needed": 2,
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["sample_rate"] == 1.0 and data["progress"]["items"] == 5
    detail = manager_api.get(f"/api/v1/review-queues/{data['id']}/").json()
    assert detail["reviewers"] == ["rory"] and detail["progress"]["complete"] == 0


@pytest.mark.parametrize(
    "change",
    [
        {"reviews_needed": 4},
        {"sample_rate": 1.5},
        {"rubrics": []},
        {"rubrics": ["Nope"]},
        {"reviewers": [], "reviewer_roles": []},
        {"reviewer_roles": ["agent"]},
        {"min_confidence": 0.9, "max_confidence": 0.1},
        {"outcome_status": "lost"},
    ],
)
def test_bad_queue_is_400_and_stores_nothing(manager_api, quality, rep, change):
    body = {"name": "Q", "rubrics": ["Quality"], "reviewers": ["rory"]} | change
    response = manager_api.post("/api/v1/review-queues/", body, format="json")
    assert response.status_code == 400, response.json()
    assert not ReviewQueue.objects.exists()


def test_rep_cannot_create_a_queue_and_sees_only_assigned_ones(
    rep_api, quality, rep, other_rep, make_queue
):
    mine = make_queue(name="Mine", rubrics=[quality], reviewers=[rep])
    theirs = make_queue(name="Theirs", rubrics=[quality], reviewers=[other_rep])
    response = rep_api.post("/api/v1/review-queues/", {"name": "X", "rubrics": ["Quality"]})
    assert response.status_code == 403
    names = [queue["name"] for queue in rep_api.get("/api/v1/review-queues/").json()["results"]]
    assert names == ["Mine"]
    assert rep_api.get(f"/api/v1/review-queues/{theirs.pk}/").status_code == 404
    assert rep_api.get(f"/api/v1/review-queues/{mine.pk}/").status_code == 200


def test_queues_of_another_organisation_are_invisible(
    api_client, other_org, in_org, other_org_manager, manager_api, quality, rep, make_queue
):
    queue = make_queue(rubrics=[quality], reviewers=[rep])
    from apps.users.services import api_key_create

    with in_org(other_org):
        key = api_key_create(name="olga", user=other_org_manager)[1]
        globex = api_client(key, host="globex.localhost")
        assert globex.get("/api/v1/review-queues/").json()["results"] == []
        assert globex.get(f"/api/v1/review-queues/{queue.pk}/").status_code == 404


def test_queue_list_runs_a_fixed_number_of_queries(
    manager_api, quality, rep, make_queue, django_assert_max_num_queries
):
    make_queue(name="One", rubrics=[quality], reviewers=[rep])
    with django_assert_max_num_queries(12) as small:
        manager_api.get("/api/v1/review-queues/")
    for index in range(8):
        make_queue(name=f"Q{index}", rubrics=[quality], reviewers=[rep], roles=["rep"])
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert len(manager_api.get("/api/v1/review-queues/").json()["results"]) == 9


# --- Examples -----------------------------------------------------------------------


def _aged(instance, minutes: int) -> None:
    type(instance).objects.filter(pk=instance.pk).update(
        updated_at=timezone.now() - timedelta(minutes=minutes)
    )


def test_examples_put_corrections_first_then_highest_scored(agent_api, rep, other_rep, quality):
    old_fix = OutcomeFactory(output_text="old draft")
    new_fix = OutcomeFactory(output_text="new draft")
    best = OutcomeFactory(output_text="A superb email.")
    good = OutcomeFactory(output_text="A good email.")
    poor = OutcomeFactory(output_text="A poor email.")
    _aged(correction_record(outcome=old_fix, author=rep, text="Old, corrected."), 60)
    correction_record(outcome=new_fix, author=rep, text="New, corrected.")
    correction_record(outcome=new_fix, author=other_rep, text="New, corrected.")  # same text
    score_record(outcome=best, rubric=quality, value=5, user=rep)
    score_record(outcome=good, rubric=quality, value=5, user=rep)
    score_record(outcome=good, rubric=quality, value=4, user=other_rep)
    score_record(outcome=poor, rubric=quality, value=2, user=rep)
    results = agent_api.get("/api/v1/examples/").json()["results"]
    assert [(row["kind"], row["ideal"]) for row in results] == [
        ("correction", "New, corrected."),
        ("correction", "Old, corrected."),
        ("high_score", "A superb email."),
        ("high_score", "A good email."),
    ]
    assert results[0]["output"] == "new draft"
    limited = agent_api.get("/api/v1/examples/?limit=1").json()["results"]
    assert len(limited) == 1


def test_a_corrected_output_is_an_example_once(agent_api, rep, quality):
    outcome = OutcomeFactory(output_text="draft")
    correction_record(outcome=outcome, author=rep, text="Better.")
    score_record(outcome=outcome, rubric=quality, value=5, user=rep)
    assert [row["kind"] for row in agent_api.get("/api/v1/examples/").json()["results"]] == [
        "correction"
    ]


def test_examples_filter_by_action_type_and_clone(agent_api, rep):
    clone = CloneFactory(external_id="clone-a")
    email = OutcomeFactory(clone=clone)
    meeting = OutcomeFactory(action_type=action_type("meeting_request"))
    correction_record(outcome=email, author=rep, text="Email fix.")
    correction_record(outcome=meeting, author=rep, text="Meeting fix.")
    by_type = agent_api.get("/api/v1/examples/?action_type=meeting_request").json()["results"]
    assert [row["ideal"] for row in by_type] == ["Meeting fix."]
    by_clone = agent_api.get("/api/v1/examples/?clone=clone-a").json()["results"]
    assert [row["ideal"] for row in by_clone] == ["Email fix."]


@pytest.mark.parametrize("query", ["limit=0", "limit=51", "limit=x"])
def test_bad_examples_query_is_400(agent_api, query):
    assert agent_api.get(f"/api/v1/examples/?{query}").status_code == 400


def test_examples_of_another_organisation_are_invisible(
    agent_api, other_org, in_org, other_agent_key, api_client, rep
):
    correction_record(outcome=OutcomeFactory(), author=rep, text="Acme's fix.")
    with in_org(other_org):
        globex = api_client(other_agent_key, host="globex.localhost")
        assert globex.get("/api/v1/examples/").json()["results"] == []
        assert not Correction.objects.exists()


def test_examples_run_one_query(agent_api, rep, django_assert_max_num_queries, quality):
    for index in range(20):
        outcome = OutcomeFactory(output_text=f"draft {index}")
        correction_record(outcome=outcome, author=rep, text=f"fix {index}")
        score_record(
            outcome=OutcomeFactory(output_text=f"great {index}"), rubric=quality, value=5, user=rep
        )
    with django_assert_max_num_queries(6):  # authentication, then one query
        assert len(agent_api.get("/api/v1/examples/?limit=50").json()["results"]) == 40


def test_persona_includes_the_clones_examples(agent_api, rep):
    clone = CloneFactory(external_id="clone-p")
    correction_record(outcome=OutcomeFactory(clone=clone), author=rep, text="The ideal email.")
    correction_record(outcome=OutcomeFactory(), author=rep, text="Another clone's.")
    persona = agent_api.get("/api/v1/clones/clone-p/persona/").json()
    assert [row["ideal"] for row in persona["examples"]] == ["The ideal email."]
