"""Managers write learnings (API and page); a learning's uses, by API and on its page."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.feedback.models import Learning, LearningApplication
from apps.users.services import api_key_create
from tests.conftest import OTHER_HOST
from tests.factories.feedback import LearningFactory
from tests.factories.outcomes import OutcomeFactory

LEARNINGS = "/api/v1/learnings/"
NEW_PAGE = "/feedback/learnings/new/"
HTMX = {"HTTP_HX_REQUEST": "true"}
BODY = {
    "title": "Name the last ticket",
    "guidance": "Open with the ticket the customer raised last week.",
    "category": "phrasing",
    "action_type": "email_sent",
    "relevance_score": 0.7,
}


def test_a_manager_writes_a_learning_and_it_starts_neutral(manager_api, manager, agent_api):
    response = manager_api.post(LEARNINGS, BODY, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["confidence_score"] == 0.5
    assert body["rank"] == pytest.approx(0.7 * 0.5 * 1.0, abs=1e-3)
    assert (body["action_type"], body["category"], body["lift"]) == ("email_sent", "phrasing", None)
    learning = Learning.objects.get()
    assert learning.created_by == manager and learning.signature.startswith("manual:")
    # the agent gets it at once
    assert [row["title"] for row in agent_api.get(LEARNINGS).json()] == ["Name the last ticket"]


def test_evidence_then_moves_a_written_learning(manager_api, agent_api):
    learning_id = manager_api.post(LEARNINGS, BODY, format="json").json()["id"]
    url = f"{LEARNINGS}{learning_id}/applications/"
    body = agent_api.post(url, {"outcome": "failure"}, format="json").json()
    assert body["confidence_score"] == pytest.approx(3 / 7)  # below neutral after a failure


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"guidance": ""}, "guidance"),
        ({"category": "vibes"}, "category"),
        ({"action_type": "carrier_pigeon"}, "action_type"),
        ({"relevance_score": 1.5}, "relevance_score"),
        ({"relevance_score": "high"}, "relevance_score"),
    ],
)
def test_a_bad_learning_is_a_400_naming_the_field_and_stores_nothing(manager_api, change, field):
    response = manager_api.post(LEARNINGS, BODY | change, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not Learning.objects.exists()


def test_reps_and_the_agent_cannot_write_learnings(agent_api, api_client, rep_key):
    assert agent_api.post(LEARNINGS, BODY, format="json").status_code == 403
    assert api_client(rep_key).post(LEARNINGS, BODY, format="json").status_code == 403
    assert not Learning.objects.exists()


def test_a_learning_written_in_one_org_is_not_in_the_other(
    manager_api, api_client, other_agent_key, other_org, in_org
):
    assert manager_api.post(LEARNINGS, BODY, format="json").status_code == 201
    assert api_client(other_agent_key, host=OTHER_HOST).get(LEARNINGS).json() == []
    with in_org(other_org):
        assert not Learning.objects.exists()


# --- the page form ------------------------------------------------------------------------


def test_a_manager_writes_a_learning_on_the_page(page_client, manager):
    response = page_client(manager).post(NEW_PAGE, BODY | {"action_type": ""}, follow=True)
    assert response.status_code == 200
    learning = Learning.objects.get()
    assert learning.action_type is None and learning.confidence_score == 0.5
    assert response.redirect_chain[-1][0] == f"/feedback/learnings/{learning.pk}/"
    assert "its confidence is 0.5" in response.content.decode()


def test_the_page_form_shows_what_is_wrong_and_keeps_what_was_typed(page_client, manager):
    response = page_client(manager).post(NEW_PAGE, BODY | {"guidance": "", "relevance_score": "2"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Say what the agent should do." in html
    assert "Ensure this value is less than or equal to 1" in html
    assert 'value="Name the last ticket"' in html
    assert not Learning.objects.exists()


def test_the_page_form_answers_htmx_with_the_form_alone(page_client, manager):
    client = page_client(manager)
    response = client.post(NEW_PAGE, BODY | {"title": ""}, **HTMX)
    assert response.status_code == 400
    assert 'id="create-form"' in response.content.decode()
    assert "<html" not in response.content.decode()
    response = client.post(NEW_PAGE, BODY, **HTMX)
    assert response.status_code == 204
    assert response["HX-Redirect"] == f"/feedback/learnings/{Learning.objects.get().pk}/"


def test_a_rep_cannot_write_a_learning_on_the_page(page_client, rep):
    assert page_client(rep).post(NEW_PAGE, BODY).status_code == 403
    assert page_client(rep).get(NEW_PAGE).status_code in (403, 405)
    assert not Learning.objects.exists()


def test_the_learnings_page_offers_the_form(page_client, manager):
    html = page_client(manager).get("/feedback/learnings/").content.decode()
    assert 'action="/feedback/learnings/new/"' in html


# --- uses ---------------------------------------------------------------------------------


@pytest.fixture
def used(org, rep):
    learning = LearningFactory(title="used")
    start = timezone.now() - timedelta(days=10)
    for index in range(5):
        LearningApplication.objects.create(
            learning=learning,
            outcome=["success", "failure"][index % 2],
            outcome_record=OutcomeFactory(external_id=f"use-{index}"),
            context=f"use {index}",
            applied_by=rep if index == 4 else None,
            applied_at=start + timedelta(days=index),
        )
    return learning


def test_a_learnings_uses_are_listed_newest_first_and_paginated(used, manager_api):
    url = f"{LEARNINGS}{used.pk}/applications/"
    response = manager_api.get(url, {"page_size": 2})
    assert response.status_code == 200
    body = response.json()
    assert [row["context"] for row in body["results"]] == ["use 4", "use 3"]
    assert body["results"][0]["applied_by"] == "rory"
    assert body["results"][0]["outcome_record"] == "use-4"
    second = manager_api.get(body["next"]).json()
    assert [row["context"] for row in second["results"]] == ["use 2", "use 1"]


def test_the_agent_and_reps_may_read_uses(used, agent_api, api_client, rep_key):
    url = f"{LEARNINGS}{used.pk}/applications/"
    assert agent_api.get(url).status_code == 200
    assert api_client(rep_key).get(url).status_code == 200


def test_the_uses_of_another_orgs_learning_are_a_404(
    used, api_client, other_org, other_org_manager, in_org
):
    with in_org(other_org):
        key = api_key_create(name="globex", user=other_org_manager)[1]
    response = api_client(key, host=OTHER_HOST).get(f"{LEARNINGS}{used.pk}/applications/")
    assert response.status_code == 404


def test_reading_uses_runs_a_fixed_number_of_queries(
    used, manager_api, django_assert_max_num_queries
):
    url = f"{LEARNINGS}{used.pk}/applications/"
    with django_assert_max_num_queries(8) as small:
        manager_api.get(url)
    for index in range(40):
        LearningApplication.objects.create(
            learning=used,
            outcome="success",
            outcome_record=OutcomeFactory(),
            applied_at=timezone.now() - timedelta(minutes=index),
        )
    with django_assert_max_num_queries(len(small)):
        assert len(manager_api.get(url).json()["results"]) == 45


def test_the_learning_page_shows_its_history(used, page_client, manager):
    response = page_client(manager).get(f"/feedback/learnings/{used.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.index("use-4") < html.index("use-0")
    assert "Success" in html and "Failure" in html


def test_the_learning_page_runs_a_fixed_number_of_queries(
    used, page_client, manager, django_assert_max_num_queries
):
    client = page_client(manager)
    url = f"/feedback/learnings/{used.pk}/"
    with django_assert_max_num_queries(12) as small:
        client.get(url)
    for _ in range(30):
        LearningApplication.objects.create(
            learning=used,
            outcome="partial",
            outcome_record=OutcomeFactory(),
            applied_at=timezone.now(),
        )
    with django_assert_max_num_queries(len(small)):
        assert client.get(url).status_code == 200


def test_the_learning_page_is_for_managers_and_this_org(
    used, page_client, rep, other_org, other_org_manager, in_org
):
    assert page_client(rep).get(f"/feedback/learnings/{used.pk}/").status_code == 403
    with in_org(other_org):
        theirs = page_client(other_org_manager, host=OTHER_HOST)
    assert theirs.get(f"/feedback/learnings/{used.pk}/").status_code == 404
