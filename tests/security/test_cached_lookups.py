"""The per-process caches of host → organisation and API key (apps.tenancy.lookups).

A change saved in this process takes effect on the next request; a change made elsewhere
(another process or server: here a queryset ``update``, which sends no signal) within
``LOOKUP_CACHE_SECONDS``. A cached organisation or key never answers for another host.
"""

from __future__ import annotations

import time

import pytest
from django.test import Client
from django.utils import timezone

from apps.tenancy.lookups import LookupCache
from apps.tenancy.middleware import tenants_by_host
from apps.tenancy.models import Domain, Organization
from apps.users.models import ApiKey, User
from apps.users.services import api_key_revoke, keys_by_hash
from tests.conftest import ORG_HOST, OTHER_HOST
from tests.sql import statements_of


def _login_page(host: str) -> str:
    response = Client(HTTP_HOST=host).get("/login/")
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def soon(settings):
    """Entries expire after 0.3 s, the bound within which other processes see a change."""
    settings.LOOKUP_CACHE_SECONDS = 0.3
    return 0.4


# --- host → organisation --------------------------------------------------------------------


def test_a_known_host_is_routed_without_asking_the_database(org):
    assert any(
        "tenancy_domain" in sql
        for sql in statements_of(lambda: Client(HTTP_HOST=ORG_HOST).get("/ping"))
    )
    assert statements_of(lambda: Client(HTTP_HOST=ORG_HOST).get("/ping")) == []


def test_a_cached_organisation_never_answers_for_another_host(org, other_org):
    for _ in range(2):  # the second round is served from the cache
        assert "Acme Corp" in _login_page(ORG_HOST)
        assert "Globex" in _login_page(OTHER_HOST)
        assert "Acme Corp" not in _login_page(OTHER_HOST)
    assert Client(HTTP_HOST="nobody.localhost").get("/login/").status_code == 404


def test_a_renamed_organisation_shows_on_the_next_request(org):
    assert "Acme Corp" in _login_page(ORG_HOST)
    org.name = "Acme Renamed"
    org.save()
    assert "Acme Renamed" in _login_page(ORG_HOST)


def test_a_domain_moved_to_another_organisation_routes_there_at_once(org, other_org):
    domain = Domain.objects.create(domain="moving.localhost", tenant=org, is_primary=False)
    assert "Acme Corp" in _login_page("moving.localhost")
    domain.tenant = other_org
    domain.save()
    assert "Globex" in _login_page("moving.localhost")


def test_a_deleted_domain_answers_404_at_once(org):
    domain = Domain.objects.create(domain="leaving.localhost", tenant=org, is_primary=False)
    assert "Acme Corp" in _login_page("leaving.localhost")
    domain.delete()
    assert Client(HTTP_HOST="leaving.localhost").get("/login/").status_code == 404


def test_a_change_made_elsewhere_shows_within_the_bound(org, soon):
    assert "Acme Corp" in _login_page(ORG_HOST)
    Organization.objects.filter(pk=org.pk).update(name="Acme Elsewhere")  # no signal
    time.sleep(soon)
    assert "Acme Elsewhere" in _login_page(ORG_HOST)


def test_the_host_cache_is_bounded():
    assert tenants_by_host.max_entries == 1024
    bounded = LookupCache(max_entries=3)
    for number in range(5):
        bounded.put(f"host{number}", number, bounded.generation)
    assert len(bounded) == 3
    assert bounded.get("host0") is None and bounded.get("host4") == 4


def test_a_lookup_that_started_before_a_change_does_not_cache_the_old_row():
    cache = LookupCache(max_entries=10)
    generation = cache.generation  # a request reads the row …
    cache.clear()  # … while another thread saves a change
    cache.put("host", "old row", generation)
    assert cache.get("host") is None


# --- API keys -------------------------------------------------------------------------------


def _key_queries(client) -> list[str]:
    sql = statements_of(lambda: client.get("/api/v1/accounts/"))
    return [query for query in sql if "users_apikey" in query]


def test_a_known_key_is_checked_without_asking_the_database(api_client, agent_key):
    client = api_client(agent_key)
    assert _key_queries(client) != []  # the first request reads the key
    assert _key_queries(client) == []


def test_a_revoked_key_is_refused_on_the_next_request(api_client, agent_key):
    client = api_client(agent_key)
    assert client.get("/api/v1/accounts/").status_code == 200
    assert client.get("/api/v1/accounts/").status_code == 200  # served from the cache
    api_key_revoke(key=ApiKey.objects.get())
    assert client.get("/api/v1/accounts/").status_code == 401


def test_a_deactivated_persons_key_is_refused_on_the_next_request(api_client, rep, rep_key):
    client = api_client(rep_key)
    assert client.get("/api/v1/accounts/").status_code == 200
    rep.is_active = False
    rep.save(update_fields=["is_active"])
    assert client.get("/api/v1/accounts/").status_code == 401


def test_a_role_change_applies_on_the_next_request(api_client, rep, rep_key):
    client = api_client(rep_key)
    assert client.get("/api/v1/review-dataset/").status_code == 403  # managers only
    rep.role = "manager"
    rep.save(update_fields=["role"])
    assert client.get("/api/v1/review-dataset/").status_code == 200


def test_a_key_cached_in_one_organisation_means_nothing_on_another_host(
    api_client, agent_key, other_agent_key
):
    assert api_client(agent_key).get("/api/v1/accounts/").status_code == 200
    assert api_client(agent_key, host=OTHER_HOST).get("/api/v1/accounts/").status_code == 401
    assert api_client(other_agent_key, host=OTHER_HOST).get("/api/v1/accounts/").status_code == 200
    assert api_client(other_agent_key).get("/api/v1/accounts/").status_code == 401


def test_a_revoke_made_elsewhere_is_refused_within_the_bound(api_client, agent_key, soon):
    client = api_client(agent_key)
    assert client.get("/api/v1/accounts/").status_code == 200
    ApiKey.objects.update(revoked_at=timezone.now())  # no signal: as another server does it
    time.sleep(soon)
    assert client.get("/api/v1/accounts/").status_code == 401


def test_a_deactivation_made_elsewhere_is_refused_within_the_bound(api_client, rep, rep_key, soon):
    client = api_client(rep_key)
    assert client.get("/api/v1/accounts/").status_code == 200
    User.objects.filter(pk=rep.pk).update(is_active=False)
    time.sleep(soon)
    assert client.get("/api/v1/accounts/").status_code == 401


def test_the_key_cache_is_bounded():
    assert keys_by_hash.max_entries == 4096


# --- the decision webhook URL ---------------------------------------------------------------


def test_a_decision_reads_the_webhook_setting_once_per_process(org, soon):
    from apps.approvals.selectors import webhook_url_get

    assert any("approvals_approvalsettings" in sql for sql in statements_of(webhook_url_get))
    assert statements_of(webhook_url_get) == []


def test_a_webhook_saved_here_applies_to_the_next_decision(org):
    from apps.approvals.selectors import approval_settings_get, webhook_url_get

    assert webhook_url_get() == ""
    settings = approval_settings_get()
    settings.webhook_url = "https://hooks.example.com/a"
    settings.save()
    assert webhook_url_get() == "https://hooks.example.com/a"
    settings.webhook_url = ""
    settings.save()
    assert webhook_url_get() == ""
    settings.delete()
    assert webhook_url_get() == ""


def test_a_webhook_changed_elsewhere_applies_within_the_window(org, soon):
    from apps.approvals.models import ApprovalSettings
    from apps.approvals.selectors import webhook_url_get

    assert webhook_url_get() == ""
    ApprovalSettings.objects.update(webhook_url="https://hooks.example.com/b")  # no signal
    time.sleep(soon)
    assert webhook_url_get() == "https://hooks.example.com/b"


def test_each_organisation_has_its_own_webhook(org, other_org):
    from django_tenants.utils import schema_context

    from apps.approvals.selectors import approval_settings_get, webhook_url_get

    with schema_context(org.schema_name):
        settings = approval_settings_get()
        settings.webhook_url = "https://hooks.example.com/org"
        settings.save()
        assert webhook_url_get() == "https://hooks.example.com/org"
    with schema_context(other_org.schema_name):
        assert webhook_url_get() == ""
    with schema_context(org.schema_name):
        assert webhook_url_get() == "https://hooks.example.com/org"
