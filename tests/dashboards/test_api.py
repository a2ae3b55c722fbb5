"""The analytics API: numbers, roles, organisations, methods and bad input."""

from __future__ import annotations

import pytest

from apps.dashboards.services import outcome_daily_refresh
from apps.users.services import api_key_create
from tests.conftest import OTHER_HOST
from tests.factories.crm import AccountFactory
from tests.factories.dashboards import decided_outcome

BASE = "/api/v1/analytics"


@pytest.fixture
def executive_api(api_client, executive):
    return api_client(api_key_create(name="erin", user=executive)[1])


@pytest.fixture
def rep_api(api_client, rep_key):
    return api_client(rep_key)


def test_rep_endpoint_gives_a_rep_their_own_numbers(crafted, rep_api):
    response = rep_api.get(f"{BASE}/rep/")

    assert response.status_code == 200
    assert response.data["rep"] == "rory"
    assert response.data["summary"]["success_rate"] == 0.6
    assert len(response.data["trend"]) == 30


def test_manager_reads_a_reps_numbers_by_username(crafted, manager_api):
    response = manager_api.get(f"{BASE}/rep/", {"rep": "sam", "period": "90d"})

    assert response.status_code == 200
    assert response.data["summary"]["outcomes"] == 3
    assert response.data["bucket"] == "week"


def test_rep_cannot_read_another_reps_numbers(crafted, rep_api, other_rep):
    assert rep_api.get(f"{BASE}/rep/", {"rep": "sam"}).status_code == 403


def test_rep_cannot_read_the_manager_or_executive_numbers(rep_api):
    assert rep_api.get(f"{BASE}/manager/").status_code == 403
    assert rep_api.get(f"{BASE}/executive/").status_code == 403


def test_manager_endpoint_has_the_team_breakdowns(crafted, manager_api):
    data = manager_api.get(f"{BASE}/manager/").data

    assert {row["username"] for row in data["by_rep"]} == {"rory", "sam"}
    assert data["approvals"]["pending"] == 0
    assert data["feedback"]["inline_total"] == 0
    assert data["insights"]["total"] == 0


def test_executive_endpoint_has_pipeline_and_autonomy(crafted, executive_api):
    data = executive_api.get(f"{BASE}/executive/", {"period": "365d"}).data

    assert data["pipeline"]["won_influenced_amount"] == 30000
    assert data["autonomy"]["total"] == 0
    assert data["bucket"] == "month"


def test_agent_reads_the_whole_organisation(crafted, agent_api):
    response = agent_api.get(f"{BASE}/trends/", {"metric": "success_rate"})

    assert response.status_code == 200
    assert response.data["metric"] == "success_rate"
    assert len(response.data["points"]) == 30


def test_trends_for_a_rep_cover_only_their_accounts(crafted, rep_api):
    points = rep_api.get(f"{BASE}/trends/", {"metric": "outcomes", "period": "30d"}).data["points"]

    assert sum(point["value"] for point in points) == 6


@pytest.mark.parametrize(
    "params, field",
    [
        ({"metric": "happiness"}, "metric"),
        ({}, "metric"),
        ({"metric": "outcomes", "period": "7d"}, "period"),
    ],
)
def test_trends_with_bad_input_is_a_400_naming_the_field(manager_api, params, field):
    response = manager_api.get(f"{BASE}/trends/", params)

    assert response.status_code == 400
    assert field in response.data


def test_unknown_rep_is_a_400_naming_the_field(manager_api):
    response = manager_api.get(f"{BASE}/rep/", {"rep": "nobody"})

    assert response.status_code == 400
    assert "rep" in response.data


def test_bad_period_on_a_dashboard_endpoint_is_a_400(manager_api):
    response = manager_api.get(f"{BASE}/manager/", {"period": "week"})

    assert response.status_code == 400
    assert "period" in response.data


@pytest.mark.parametrize("path", ["rep", "manager", "executive", "trends", "patterns"])
def test_analytics_endpoints_are_read_only(manager_api, path):
    assert manager_api.post(f"{BASE}/{path}/", {}).status_code == 405


def test_no_key_is_a_401(api_client):
    assert api_client().get(f"{BASE}/manager/").status_code == 401


def test_key_of_another_organisation_is_refused(crafted, api_client, other_agent_key):
    assert api_client(other_agent_key).get(f"{BASE}/manager/").status_code == 401


def test_other_organisation_sees_only_its_own_numbers(
    crafted, api_client, other_org, in_org, other_agent_key
):
    with in_org(other_org):
        account = AccountFactory(name="Globex account")
        decided_outcome(account=account, code="email_sent", status="expired")
        outcome_daily_refresh()

    data = api_client(other_agent_key, host=OTHER_HOST).get(f"{BASE}/manager/").data

    assert data["summary"]["outcomes"] == 1
    assert data["by_rep"][0]["name"] == "Unassigned accounts"
