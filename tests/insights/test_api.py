from __future__ import annotations

import pytest

from apps.insights.models import AlertFeedback, Insight
from apps.insights.services import insight_dismiss
from tests.factories.crm import AccountFactory
from tests.factories.insights import InsightFactory

LIST = "/api/v1/insights/"


def act_url(insight) -> str:
    return f"/api/v1/insights/{insight.pk}/act/"


def dismiss_url(insight) -> str:
    return f"/api/v1/insights/{insight.pk}/dismiss/"


@pytest.fixture
def insight(account):
    return InsightFactory(account=account, severity="critical")


def test_agent_lists_insights_with_the_fields_it_relies_on(agent_api, insight):
    response = agent_api.get(LIST)

    assert response.status_code == 200
    [item] = response.json()["results"]
    assert item["account"] == insight.account.external_id
    for field in ("pattern_type", "confidence", "severity", "evidence", "status"):
        assert field in item


def test_list_filters_by_status_type_severity_and_account(agent_api, insight, manager):
    other = InsightFactory(pattern_type="buying_signal", severity="low")
    insight_dismiss(insight=other, user=manager, reason="other")

    def ids(**params):
        return [item["id"] for item in agent_api.get(LIST, params).json()["results"]]

    assert ids(status="pending") == [insight.pk]
    assert ids(pattern_type="buying_signal") == [other.pk]
    assert ids(severity="critical") == [insight.pk]
    assert ids(account=other.account.external_id) == [other.pk]


def test_an_unknown_filter_value_is_a_400(agent_api, org):
    response = agent_api.get(LIST, {"severity": "apocalyptic"})

    assert response.status_code == 400
    assert "severity" in response.json()


def test_rep_key_lists_only_insights_on_the_reps_accounts(api_client, rep_key, insight):
    InsightFactory(account=AccountFactory())

    results = api_client(rep_key).get(LIST).json()["results"]

    assert [item["id"] for item in results] == [insight.pk]


def test_manager_acts_on_an_insight(manager_api, manager, insight):
    response = manager_api.post(act_url(insight), {"note": "Booked a call"}, format="json")

    assert response.status_code == 200
    assert response.json()["status"] == "acted"
    assert response.json()["resolved_by"] == manager.username


def test_manager_dismisses_with_a_reason(manager_api, insight):
    response = manager_api.post(dismiss_url(insight), {"reason": "false_positive"}, format="json")

    assert response.status_code == 200
    assert response.json()["dismiss_reason"] == "false_positive"


def test_dismiss_without_a_valid_reason_is_a_400_naming_the_field(manager_api, insight):
    response = manager_api.post(dismiss_url(insight), {"reason": "bored"}, format="json")

    assert response.status_code == 400
    assert "reason" in response.json()
    assert Insight.objects.get(pk=insight.pk).status == "pending"


def test_acting_on_a_dismissed_insight_is_a_409(manager_api, manager, insight):
    insight_dismiss(insight=insight, user=manager, reason="other")

    response = manager_api.post(act_url(insight), format="json")

    assert response.status_code == 409
    assert "already dismissed" in response.json()["detail"]


def test_agent_and_rep_cannot_act(agent_api, api_client, rep_key, insight):
    assert agent_api.post(act_url(insight), format="json").status_code == 403
    assert api_client(rep_key).post(dismiss_url(insight), {"reason": "other"}).status_code == 403


def test_no_key_is_a_401(api_client, org):
    assert api_client().get(LIST).status_code == 401


def test_act_is_post_only(manager_api, insight):
    assert manager_api.get(act_url(insight)).status_code == 405


def test_feedback_through_the_api(api_client, rep_key, rep, insight):
    response = api_client(rep_key).post(
        f"/api/v1/insights/{insight.pk}/feedback/",
        {"useful": False, "comment": "noise"},
        format="json",
    )

    assert response.status_code == 200
    assert AlertFeedback.objects.get(user=rep).useful is False


def test_another_orgs_key_gets_404_and_an_empty_list(
    api_client, other_agent_key, insight, in_org, org
):
    other = api_client(other_agent_key, host="globex.localhost")

    assert other.get(f"{LIST}{insight.pk}/").status_code == 404
    assert other.get(LIST).json()["results"] == []


@pytest.mark.parametrize("rows", [2, 30])
def test_list_runs_a_fixed_number_of_queries(agent_api, org, rows, django_assert_max_num_queries):
    InsightFactory.create_batch(rows)

    with django_assert_max_num_queries(6):
        assert agent_api.get(LIST).status_code == 200
