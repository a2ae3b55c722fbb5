"""API throttling: each API key has its own request budget; past it the API answers 429."""

import pytest
from django.core.cache import cache

from tests.conftest import OTHER_HOST


@pytest.fixture(autouse=True)
def small_budgets(settings):
    settings.API_THROTTLE_RATES = {"key": "3/minute", "user": "2/minute", "anon": "2/minute"}
    cache.clear()
    yield
    cache.clear()


def test_a_key_past_its_budget_gets_429_with_retry_after(api_client, agent_key):
    client = api_client(agent_key)
    for _ in range(3):
        assert client.get("/api/v1/accounts/").status_code == 200
    response = client.get("/api/v1/accounts/")
    assert response.status_code == 429
    assert "throttled" in response.json()["detail"].lower()
    assert 0 < int(response["Retry-After"]) <= 60


def test_one_key_running_out_does_not_throttle_another_key(api_client, agent_key, manager_key):
    agent = api_client(agent_key)
    for _ in range(4):
        agent.get("/api/v1/accounts/")
    assert agent.get("/api/v1/accounts/").status_code == 429
    assert api_client(manager_key).get("/api/v1/accounts/").status_code == 200


def test_the_budget_is_per_key_not_per_client_address(api_client, agent_key, manager_key):
    # Both keys call from the same address (the test client's 127.0.0.1).
    for _ in range(3):
        assert api_client(agent_key).get("/api/v1/accounts/").status_code == 200
        assert api_client(manager_key).get("/api/v1/accounts/").status_code == 200


def test_another_orgs_agent_keeps_its_own_budget(api_client, agent_key, other_agent_key):
    for _ in range(4):
        api_client(agent_key).get("/api/v1/accounts/")
    other = api_client(other_agent_key, host=OTHER_HOST)
    assert other.get("/api/v1/accounts/").status_code == 200


def test_session_calls_are_budgeted_per_user(api_client, manager, executive):
    browser = api_client(user=manager)
    for _ in range(2):
        assert browser.get("/api/v1/accounts/").status_code == 200
    assert browser.get("/api/v1/accounts/").status_code == 429
    assert api_client(user=executive).get("/api/v1/accounts/").status_code == 200


def test_unauthenticated_calls_are_refused_before_they_count(api_client, agent_key):
    for _ in range(5):
        assert api_client().get("/api/v1/accounts/").status_code == 401
    assert api_client(agent_key).get("/api/v1/accounts/").status_code == 200
