"""Two web servers and two Celery workers sharing one PostgreSQL and one Redis, as on three
hosts: whichever server answers, a person sees the same thing.

Each server is a real `make serve` web process (production settings, gunicorn + uvicorn) on
a port of its own; the test talks to them alternately.
"""

from __future__ import annotations

import time
from contextlib import ExitStack

import pytest
import requests
from django.conf import settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher

from apps.insights.services import insight_create
from apps.users.services import api_key_create, api_key_revoke
from learning_site.celery import app
from tests.factories.crm import AccountFactory
from tests.factories.users import UserFactory
from tests.insights.asgi_server import Stream
from tests.multihost.servers import (
    Browser,
    WebServer,
    celery_worker,
    host_environment,
    web_servers,
)

pytestmark = pytest.mark.services

PASSWORD = "pw-for-tests"
KEY_RATE = 12
# How long a revoked key may still be accepted by a server that looked it up just before.
REVOCATION_SECONDS = 6


@pytest.fixture(scope="module")
def servers(_fresh_org_schema) -> list[WebServer]:
    assert settings.REDIS_URL, "set REDIS_URL: the servers share it"
    tenant, _ = _fresh_org_schema
    env = host_environment(API_THROTTLE_RATE=f"{KEY_RATE}/minute")
    with ExitStack() as stack:
        for name in ("worker-a", "worker-b"):
            stack.enter_context(celery_worker(name, env))
        yield stack.enter_context(
            web_servers(["web-a", "web-b"], env, tenant.get_primary_domain().domain)
        )


def _manager(username: str = "maria"):
    """A manager who can sign in on the servers: their production settings check passwords
    with PBKDF2 only (the test process hashes with MD5, for speed)."""
    user = UserFactory(username=username, role="manager")
    hasher = PBKDF2PasswordHasher()
    user.password = hasher.encode(PASSWORD, hasher.salt(), iterations=1000)
    user.save(update_fields=["password"])
    return user


def _api(server: WebServer, tenant, key: str, method: str, path: str, **kwargs):
    headers = {"Host": tenant.get_primary_domain().domain, "Authorization": f"Bearer {key}"}
    return requests.request(
        method, f"{server.base_url}{path}", headers=headers, timeout=30, **kwargs
    )


def test_both_workers_consume_the_shared_queue(servers):
    replies = app.control.ping(timeout=5)
    names = {name.split("@")[0] for reply in replies for name in reply}
    assert {"worker-a", "worker-b"} <= names


def test_a_decision_on_server_a_reaches_a_stream_held_on_server_b(servers, fresh_org):
    server_a, server_b = servers
    manager = _manager()
    account = AccountFactory(name="Birch Logistics")
    insight = insight_create(
        account=account, pattern_type="buying_signal", signal="buying_interest",
        title="Asked for a quote", confidence=0.7, severity="high",
    )[0]  # fmt: skip
    watcher = Browser(fresh_org.get_primary_domain().domain)
    assert watcher.log_in(server_b, "maria", PASSWORD).status_code == 302
    stream = Stream(server_b.port, fresh_org, cookie=f"ll_session={watcher.cookies['ll_session']}")
    try:
        assert stream.status == 200
        stream.wait_until_live()
        key = api_key_create(name="maria's key", user=manager)[1]
        acted = _api(server_a, fresh_org, key, "POST", f"/api/v1/insights/{insight.pk}/act/")
        assert acted.status_code == 200, acted.text
        event = stream.next_event(seconds=3)
        assert (event["kind"], event["id"], event["status"]) == ("resolved", insight.pk, "acted")
    finally:
        stream.close()


def test_a_session_started_on_a_is_signed_in_on_b_and_signed_out_everywhere(servers, fresh_org):
    server_a, server_b = servers
    _manager()
    browser = Browser(fresh_org.get_primary_domain().domain)
    assert browser.log_in(server_a, "maria", PASSWORD).status_code == 302
    assert browser.request(server_b, "GET", "/dashboards/team/").status_code == 200
    logout = browser.request(
        server_b,
        "POST",
        "/logout/",
        data={"csrfmiddlewaretoken": browser.cookies["ll_csrftoken"]},
    )
    assert logout.status_code == 302
    assert browser.request(server_a, "GET", "/dashboards/team/").status_code == 302  # to login


def test_failed_logins_split_between_servers_lock_out_at_the_one_server_limit(servers, fresh_org):
    _manager()
    limit = 5  # LOGIN_FAILURE_LIMIT's default
    browser = Browser(fresh_org.get_primary_domain().domain)
    for attempt in range(limit - 1):
        failed = browser.log_in(servers[attempt % 2], "maria", "wrong")
        assert failed.status_code == 200
    # One failure short of the limit, counted over both servers: the right password works
    # (and starts the count again).
    assert browser.log_in(servers[1], "maria", PASSWORD).status_code == 302
    browser = Browser(fresh_org.get_primary_domain().domain)
    for attempt in range(limit):
        browser.log_in(servers[attempt % 2], "maria", "wrong")
    for server in servers:
        assert browser.log_in(server, "maria", PASSWORD).status_code == 429


def test_an_api_key_rate_limit_counts_requests_on_both_servers(servers, fresh_org):
    key = api_key_create(name="agent")[1]
    for number in range(KEY_RATE):
        response = _api(servers[number % 2], fresh_org, key, "GET", "/api/v1/accounts/")
        assert response.status_code == 200, number
    for server in servers:
        assert _api(server, fresh_org, key, "GET", "/api/v1/accounts/").status_code == 429


def test_a_dashboard_refreshed_on_a_is_served_fresh_from_the_cache_on_b(servers, fresh_org):
    server_a, server_b = servers
    manager = _manager()
    key = api_key_create(name="maria's key", user=manager)[1]
    path = "/api/v1/analytics/manager/"
    first = _api(server_b, fresh_org, key, "GET", path).json()
    assert _api(server_a, fresh_org, key, "GET", path).json()["from_cache"] is True

    refreshed = _api(server_a, fresh_org, key, "GET", f"{path}?refresh=1").json()
    on_b = _api(server_b, fresh_org, key, "GET", path).json()

    assert refreshed["from_cache"] is False and on_b["from_cache"] is True
    assert refreshed["generated_at"] != first["generated_at"]
    assert on_b | {"from_cache": False} == refreshed


def test_a_revoked_key_is_refused_by_every_server(servers, fresh_org):
    key = api_key_create(name="agent")[1]
    for server in servers:
        assert _api(server, fresh_org, key, "GET", "/api/v1/accounts/").status_code == 200
    from apps.users.models import ApiKey

    api_key_revoke(key=ApiKey.objects.get(prefix=key.split("_")[1]))
    # A server may answer from its own lookup cache for a few seconds (LOOKUP_CACHE_SECONDS).
    deadline = time.monotonic() + REVOCATION_SECONDS
    refused: set[str] = set()
    while refused != {server.name for server in servers} and time.monotonic() < deadline:
        for server in servers:
            if _api(server, fresh_org, key, "GET", "/api/v1/accounts/").status_code == 401:
                refused.add(server.name)
        time.sleep(0.2)
    assert refused == {server.name for server in servers}
