"""Goals API: list what the caller may see, create with the same validation as the admin."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.goals.models import Goal
from tests.conftest import OTHER_HOST
from tests.factories.goals import GoalFactory
from tests.factories.outcomes import OutcomeFactory
from tests.factories.personas import CloneFactory

TODAY = timezone.now().date()


def _payload(**overrides) -> dict:
    return {
        "name": "November meetings",
        "goal_type": "activity",
        "target": "25",
        "period_start": (TODAY - timedelta(days=3)).isoformat(),
        "period_end": (TODAY + timedelta(days=27)).isoformat(),
        **overrides,
    }


def test_agent_lists_goals_with_progress(agent_api):
    GoalFactory(name="Meetings", target=Decimal("10"), current_value=Decimal("5"))
    response = agent_api.get("/api/v1/goals/")
    assert response.status_code == 200
    [goal] = response.json()["results"]
    assert goal["name"] == "Meetings" and goal["progress_pct"] == 50
    assert goal["status"] == "active" and goal["current_value"] == "5.00"


def test_list_filters_by_status_type_and_clone(agent_api):
    clone = CloneFactory(external_id="nova")
    GoalFactory(name="Done", status="completed")
    GoalFactory(name="Revenue", goal_type="revenue")
    GoalFactory(name="Nova", clone=clone)

    def names(query: str) -> set[str]:
        return {row["name"] for row in agent_api.get(f"/api/v1/goals/?{query}").json()["results"]}

    assert names("status=completed") == {"Done"}
    assert names("goal_type=revenue") == {"Revenue"}
    assert names("clone=nova") == {"Nova"}


def test_rep_sees_team_goals_and_own_goals_only(api_client, rep_key, rep, manager):
    GoalFactory(name="Team")
    GoalFactory(name="Mine", owner=rep)
    GoalFactory(name="My clone", clone=CloneFactory(owner=rep))
    GoalFactory(name="Maria's", owner=manager)
    rows = api_client(rep_key).get("/api/v1/goals/").json()["results"]
    assert {row["name"] for row in rows} == {"Team", "Mine", "My clone"}


def test_list_has_no_goal_of_another_organisation(agent_api, other_org, in_org):
    with in_org(other_org):
        GoalFactory(name="Globex goal")
    assert agent_api.get("/api/v1/goals/").json()["results"] == []


def test_list_runs_a_fixed_number_of_queries(agent_api, django_assert_max_num_queries):
    GoalFactory(clone=CloneFactory())
    with django_assert_max_num_queries(6):
        agent_api.get("/api/v1/goals/")
    for _ in range(20):
        GoalFactory(clone=CloneFactory(), owner=CloneFactory().owner)
    with django_assert_max_num_queries(6):
        assert len(agent_api.get("/api/v1/goals/").json()["results"]) == 21


def test_manager_creates_a_goal_and_gets_its_progress(manager_api, rep):
    clone = CloneFactory(external_id="nova", owner=rep)
    OutcomeFactory.create_batch(2, clone=clone, occurred_at=timezone.now() - timedelta(days=1))
    response = manager_api.post(
        "/api/v1/goals/", _payload(clone="nova", owner="rory"), format="json"
    )
    assert response.status_code == 201
    body = response.json()
    assert body["clone"] == "nova" and body["owner"] == "rory"
    assert body["current_value"] == "2.00" and body["status"] == "active"
    assert Goal.objects.get().progress_updated_at is not None


def test_agent_and_rep_keys_cannot_create_goals(agent_api, api_client, rep_key):
    assert agent_api.post("/api/v1/goals/", _payload(), format="json").status_code == 403
    assert api_client(rep_key).post("/api/v1/goals/", _payload(), format="json").status_code == 403
    assert not Goal.objects.exists()


def test_goals_need_a_key(api_client):
    assert api_client().get("/api/v1/goals/").status_code in (401, 403)


@pytest.mark.parametrize(
    "bad, field",
    [
        ({"target": "0"}, "target"),
        ({"target": "-3"}, "target"),
        ({"goal_type": "quality", "target": "150"}, "target"),
        ({"period_end": (TODAY - timedelta(days=3)).isoformat()}, "period_end"),
        ({"period_end": "not a date"}, "period_end"),
        ({"goal_type": "happiness"}, "goal_type"),
        ({"clone": "ghost"}, "clone"),
        ({"owner": "nobody"}, "owner"),
        ({"name": ""}, "name"),
    ],
)
def test_bad_goal_is_a_400_naming_the_field_and_stores_nothing(manager_api, bad, field):
    response = manager_api.post("/api/v1/goals/", _payload(**bad), format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not Goal.objects.exists()


def test_clone_of_another_organisation_is_a_400(manager_api, other_org, in_org):
    with in_org(other_org):
        CloneFactory(external_id="globex-clone")
    response = manager_api.post("/api/v1/goals/", _payload(clone="globex-clone"), format="json")
    assert response.status_code == 400 and "clone" in response.json()


def test_other_organisations_key_does_not_see_our_goals(api_client, other_agent_key):
    GoalFactory(name="Acme goal")
    response = api_client(other_agent_key, host=OTHER_HOST).get("/api/v1/goals/")
    assert response.status_code == 200 and response.json()["results"] == []


def test_goal_detail_update_and_delete_are_not_offered(manager_api):
    goal = GoalFactory()
    assert manager_api.get(f"/api/v1/goals/{goal.pk}/").status_code == 404
    assert manager_api.delete("/api/v1/goals/").status_code == 405
