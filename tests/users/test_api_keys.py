"""API key authentication: hashed, revocable, scoped to one organisation."""

from apps.users.models import ApiKey
from apps.users.services import api_key_revoke
from tests.conftest import OTHER_HOST


def test_no_key_is_401_with_a_bearer_challenge(api_client):
    response = api_client().get("/api/v1/accounts/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"


def test_a_wrong_key_is_401(api_client, agent_key):
    tampered = agent_key[:-2] + ("aa" if not agent_key.endswith("aa") else "bb")
    assert api_client(tampered).get("/api/v1/accounts/").status_code == 401
    assert api_client("not-a-key").get("/api/v1/accounts/").status_code == 401


def test_a_revoked_key_stops_working_at_once(api_client, agent_key):
    assert api_client(agent_key).get("/api/v1/accounts/").status_code == 200
    api_key_revoke(key=ApiKey.objects.get())
    assert api_client(agent_key).get("/api/v1/accounts/").status_code == 401


def test_a_key_of_another_org_is_meaningless_here(api_client, other_agent_key):
    assert api_client(other_agent_key).get("/api/v1/accounts/").status_code == 401
    assert api_client(other_agent_key, host=OTHER_HOST).get("/api/v1/accounts/").status_code == 200


def test_using_a_key_records_when_it_was_last_used(api_client, agent_key):
    assert ApiKey.objects.get().last_used_at is None
    api_client(agent_key).get("/api/v1/accounts/")
    assert ApiKey.objects.get().last_used_at is not None


def test_a_deactivated_users_key_is_refused(api_client, rep, rep_key):
    rep.is_active = False
    rep.save()
    assert api_client(rep_key).get("/api/v1/accounts/").status_code == 401
