"""The customer view through the API: GET /api/v1/accounts/{id}/timeline/."""

from __future__ import annotations

import pytest

from tests.conftest import OTHER_HOST
from tests.factories.crm import AccountFactory
from tests.factories.insights import InsightFactory


def url(account, **query) -> str:
    params = "&".join(f"{key}={value}" for key, value in query.items())
    return f"/api/v1/accounts/{account.pk}/timeline/" + (f"?{params}" if params else "")


@pytest.fixture
def history(account, signal):
    signal(account, 200, channel="chat", summary="Asked about SSO", sentiment=0.1)
    signal(account, 40, channel="meeting", summary="Quarterly review", sentiment=-0.5)
    signal(account, 10, channel="email", summary="Asked for pricing", key_points=["pricing"])
    signal(account, 2, channel="crm", direction="outbound", summary="Moved to proposal")
    return account


def test_timeline_is_oldest_first_within_the_window_with_all_three_summaries(manager_api, history):
    response = manager_api.get(url(history, days=90))

    assert response.status_code == 200
    data = response.data
    assert [item["summary"] for item in data["timeline"]] == [
        "Quarterly review",
        "Asked for pricing",
        "Moved to proposal",
    ]
    assert [item["channel"] for item in data["timeline"]] == ["meeting", "email", "crm"]
    summaries = {summary["days"]: summary for summary in data["summaries"]}
    assert sorted(summaries) == [30, 90, 365]
    assert summaries[30]["channels"] == {"email": 1, "chat": 0, "meeting": 0, "crm": 1}
    assert summaries[365]["total"] == 4
    assert summaries[30]["key_points"] == [{"point": "pricing", "count": 1}]
    assert data["account"]["external_id"] == history.external_id


def test_days_default_to_30_and_365_reaches_a_year_back(manager_api, history):
    assert len(manager_api.get(url(history)).data["timeline"]) == 2
    year = manager_api.get(url(history, days=365)).data["timeline"]
    assert year[0]["summary"] == "Asked about SSO"


def test_newest_first_on_request_and_pages_with_next_offset(manager_api, history):
    first = manager_api.get(url(history, days=365, order="newest", limit=3)).data

    assert [item["summary"] for item in first["timeline"]][0] == "Moved to proposal"
    assert first["next_offset"] == 3
    rest = manager_api.get(url(history, days=365, order="newest", limit=3, offset=3)).data
    assert [item["summary"] for item in rest["timeline"]] == ["Asked about SSO"]
    assert rest["next_offset"] is None


def test_open_insights_of_the_account_come_along(manager_api, history):
    InsightFactory(account=history, title="Pricing interest", severity="high")

    data = manager_api.get(url(history)).data

    assert [insight["title"] for insight in data["open_insights"]] == ["Pricing interest"]


@pytest.mark.parametrize(
    "query", [{"days": 7}, {"days": "abc"}, {"order": "sideways"}, {"limit": 0}, {"offset": -1}]
)
def test_bad_parameters_are_400(manager_api, history, query):
    response = manager_api.get(url(history, **query))

    assert response.status_code == 400
    assert set(query) <= set(response.data) or "errors" in str(response.data)


def test_a_rep_sees_the_timeline_of_their_own_account_only(api_client, rep_key, history, manager):
    someone_elses = AccountFactory(name="Not Rory's", owner=manager)
    client = api_client(rep_key)

    assert client.get(url(history)).status_code == 200
    assert client.get(url(someone_elses)).status_code == 404


def test_unknown_account_is_404_and_a_key_is_needed(manager_api, api_client, history):
    assert manager_api.get("/api/v1/accounts/999999/timeline/").status_code == 404
    assert api_client().get(url(history)).status_code == 401
    assert manager_api.post(url(history)).status_code == 405


def test_an_account_of_another_organisation_is_404(
    api_client, other_agent_key, history, other_org, in_org, signal
):
    with in_org(other_org):
        theirs = AccountFactory(name="Globex account")
    client = api_client(other_agent_key, host=OTHER_HOST)

    assert client.get(url(history)).status_code == 404  # our id, asked on their host
    with in_org(other_org):
        assert client.get(url(theirs)).status_code == 200


@pytest.mark.parametrize("size", [2, 80])
def test_timeline_runs_a_fixed_number_of_queries(
    manager_api, account, signal, django_assert_max_num_queries, size
):
    for number in range(size):
        signal(account, number % 300, channel="email", summary=f"message {number}")
    InsightFactory(account=account)

    with django_assert_max_num_queries(10):
        response = manager_api.get(url(account, days=365))
    assert response.status_code == 200


def test_the_schema_documents_the_timeline_with_an_example(api_client, org):
    schema = api_client().get("/api/schema/", {"format": "json"}).json()

    operation = schema["paths"]["/api/v1/accounts/{account_id}/timeline/"]["get"]
    assert "Customer view" in str(operation["responses"]["200"])
    assert {p["name"] for p in operation["parameters"]} >= {"days", "order"}


def test_the_page_offers_both_orders(page_client, manager, history):
    client = page_client(manager)
    newest = client.get(f"/accounts/{history.pk}/").context["timeline"]
    oldest = client.get(f"/accounts/{history.pk}/?order=oldest")

    assert newest[0].summary == "Moved to proposal"
    assert oldest.context["timeline"][0].summary == "Asked about SSO"
    assert b'aria-current="true" class="active">Oldest first' in oldest.content
