"""A real streaming replica (DATABASE_REPLICA_URL): dashboards, analytics, exports and the
calibration page read from it, in the organisation's schema; everything else, and whoever
has just written, reads from the primary.

The test starts a primary and a `pg_basebackup -R` replica of its own (tests/multihost/
clusters.py), and two web servers (as on two hosts) sharing them and the machine's Redis.
Pausing the replica's replay makes it visibly stale: a page that reads there shows the old
value while a page on the primary shows the new one.
"""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass

import pytest
import requests
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django_tenants.utils import schema_context

from apps.insights.models import AlertChannel, Severity
from tests.insights.asgi_server import session_cookie
from tests.multihost.clusters import (
    Server,
    missing_tools,
    primary_with_replica,
    wait_until_replayed,
)
from tests.multihost.servers import (
    Browser,
    WebServer,
    database_url,
    host_environment,
    web_servers,
)

pytestmark = pytest.mark.services

READ_YOUR_WRITES_SECONDS = 2
REPLICA_PAGES = [
    "/dashboards/team/",
    "/outcomes/calibration/",
    "/feedback/export/?format=csv",
    "/reviews/export/?file=jsonl",
]
REPLICA_API = [
    "/api/v1/analytics/manager/",
    "/api/v1/analytics/executive/",
    "/api/v1/analytics/trends/?metric=outcomes",
    "/api/v1/analytics/patterns/email_sent/",
    "/api/v1/review-dataset/",
]
PRIMARY_PAGES = ["/outcomes/", "/approvals/"]


@dataclass
class Deployment:
    primary: Server
    replica: Server
    database: str
    schema: str
    host: str
    servers: list[WebServer]
    manager_cookie: str
    manager_key: str
    agent_key: str

    def get(self, server: WebServer, path: str, *, key: str = "", cookie: str = ""):
        headers = {"Host": self.host}
        if key:
            headers["Authorization"] = f"Bearer {key}"
        if cookie:
            headers["Cookie"] = cookie
        return requests.get(f"{server.base_url}{path}", headers=headers, timeout=30)

    def on_primary(self, sql: str, params: list | None = None) -> None:
        with self.primary.connect(self.database) as db:
            db.execute(f'SET search_path = "{self.schema}", public')
            db.execute(sql, params)


@pytest.fixture(scope="module")
def deployment(_fresh_org_schema, django_db_blocker):
    """The session's committed organisation, copied with a manager and two keys into a new
    primary with its replica, served by two web servers; reset afterwards."""
    if why := missing_tools():
        pytest.skip(f"needs PostgreSQL's server tools: {why}")
    assert settings.REDIS_URL, "set REDIS_URL: read-your-writes is shared between servers"
    from apps.users.services import api_key_create
    from tests.conftest import _reset_schema
    from tests.factories.outcomes import OutcomeFactory
    from tests.factories.users import UserFactory

    tenant, pristine = _fresh_org_schema
    with django_db_blocker.unblock():
        with schema_context(tenant.schema_name):
            manager = UserFactory(username="mia", role="manager")
            manager_key = api_key_create(name="mia's key", user=manager)[1]
            agent_key = api_key_create(name="agent")[1]
            OutcomeFactory()  # listed with its action type's name on /outcomes/
            cookie = session_cookie(tenant, manager)
        connection.set_schema_to_public()
        database = connection.settings_dict["NAME"]
        host = tenant.get_primary_domain().domain
    try:
        with primary_with_replica(database_url(), database) as (primary, replica):
            env = host_environment(
                DATABASE_URL=primary.url(database),
                DATABASE_REPLICA_URL=replica.url(database),
                REPLICA_READ_YOUR_WRITES_SECONDS=str(READ_YOUR_WRITES_SECONDS),
            )
            with web_servers(["replica-web-a", "replica-web-b"], env, host) as servers:
                yield Deployment(
                    primary, replica, database, tenant.schema_name, host, servers,
                    cookie, manager_key, agent_key,
                )  # fmt: skip
    finally:
        with django_db_blocker.unblock():
            _reset_schema(tenant.schema_name, pristine)
            connection.set_schema_to_public()


class ReplayPaused:
    """While inside, the replica replays nothing: whatever the primary writes is not there."""

    def __init__(self, deployment: Deployment):
        self.deployment = deployment

    def __enter__(self):
        wait_until_replayed(self.deployment.primary, self.deployment.replica, "postgres")
        with self.deployment.replica.connect("postgres") as db:
            db.execute("SELECT pg_wal_replay_pause()")

    def __exit__(self, *exc):
        with self.deployment.replica.connect("postgres") as db:
            db.execute("SELECT pg_wal_replay_resume()")
        wait_until_replayed(self.deployment.primary, self.deployment.replica, "postgres")


def _replica_statements(deployment: Deployment, since: int) -> str:
    """What the replica was asked since byte ``since`` of its log (flushed within a moment)."""
    time.sleep(0.3)
    with open(deployment.replica.log, "rb") as log:
        log.seek(since)
        return log.read().decode(errors="replace")


def _log_size(deployment: Deployment) -> int:
    return deployment.replica.log.stat().st_size


def test_reporting_pages_and_the_analytics_api_read_the_replica_in_the_org_schema(deployment):
    server = deployment.servers[0]
    everything = ""
    for path in REPLICA_PAGES + REPLICA_API:
        cache.clear()  # the dashboards' 5-minute cache would answer without a read
        before = _log_size(deployment)
        if path.startswith("/api/"):
            response = deployment.get(server, path, key=deployment.manager_key)
        else:
            response = deployment.get(server, path, cookie=deployment.manager_cookie)
        assert response.status_code == 200, (path, response.text[:500])
        statements = _replica_statements(deployment, before)
        assert "SELECT" in statements, path
        everything += statements
    # The replica connection selects the organisation's schema, and only that one.
    search_paths = set(re.findall(r"SET search_path = (.*)", everything))
    assert search_paths == {f'"{deployment.schema}","public"'}


def test_every_other_page_reads_the_primary(deployment):
    server = deployment.servers[0]
    for path in PRIMARY_PAGES:
        before = _log_size(deployment)
        response = deployment.get(server, path, cookie=deployment.manager_cookie)
        assert response.status_code == 200, path
        assert "SELECT" not in _replica_statements(deployment, before), path


def test_a_paused_replica_shows_old_data_on_replica_pages_only(deployment):
    renamed = f"Email sent {uuid.uuid4().hex[:8]}"
    server = deployment.servers[1]
    try:
        with ReplayPaused(deployment):
            deployment.on_primary(
                "UPDATE outcomes_actiontype SET name = %s WHERE code = 'email_sent'", [renamed]
            )
            calibration = deployment.get(
                server, "/outcomes/calibration/", cookie=deployment.manager_cookie
            )
            outcomes = deployment.get(server, "/outcomes/", cookie=deployment.manager_cookie)
            pattern = deployment.get(
                server, "/api/v1/analytics/patterns/email_sent/", key=deployment.manager_key
            )
            assert calibration.status_code == outcomes.status_code == pattern.status_code == 200
            assert renamed not in calibration.text  # the replica: not replayed yet
            assert pattern.json()["name"] == "Email sent"
            assert renamed in outcomes.text  # the primary
        pattern = deployment.get(
            server, "/api/v1/analytics/patterns/email_sent/", key=deployment.manager_key
        )
        assert pattern.json()["name"] == renamed  # replayed
    finally:
        deployment.on_primary(
            "UPDATE outcomes_actiontype SET name = 'Email sent' WHERE code = 'email_sent'"
        )


def test_whoever_just_wrote_reads_the_primary_on_any_server_for_a_while(deployment):
    renamed = f"Email sent {uuid.uuid4().hex[:8]}"
    server_a, server_b = deployment.servers
    path = "/api/v1/analytics/patterns/email_sent/"
    try:
        with ReplayPaused(deployment):
            deployment.on_primary(
                "UPDATE outcomes_actiontype SET name = %s WHERE code = 'email_sent'", [renamed]
            )
            created = requests.post(
                f"{server_a.base_url}/api/v1/accounts/",
                json={"external_id": f"acc-{renamed}", "name": "Written on A"},
                headers={
                    "Host": deployment.host,
                    "Authorization": f"Bearer {deployment.agent_key}",
                },
                timeout=30,
            )
            assert created.status_code == 201, created.text
            # The agent wrote on A: its next read, on B, comes from the primary.
            assert (
                deployment.get(server_b, path, key=deployment.agent_key).json()["name"] == renamed
            )
            # Someone who did not write still reads the (stale) replica.
            mine = deployment.get(server_b, path, key=deployment.manager_key).json()
            assert mine["name"] == "Email sent"
            # Once the window has passed, the writer reads the replica again.
            time.sleep(READ_YOUR_WRITES_SECONDS + 0.5)
            later = deployment.get(server_b, path, key=deployment.agent_key).json()
            assert later["name"] == "Email sent"
    finally:
        deployment.on_primary(
            "UPDATE outcomes_actiontype SET name = 'Email sent' WHERE code = 'email_sent'"
        )


def test_a_person_who_saved_a_form_on_a_reads_the_primary_on_b(deployment):
    renamed = f"Email sent {uuid.uuid4().hex[:8]}"
    server_a, server_b = deployment.servers
    browser = Browser(deployment.host)
    name, _, value = deployment.manager_cookie.partition("=")
    browser.cookies[name] = value
    try:
        with ReplayPaused(deployment):
            deployment.on_primary(
                "UPDATE outcomes_actiontype SET name = %s WHERE code = 'email_sent'", [renamed]
            )
            saved = browser.submit(
                server_a,
                "/insights/preferences/",
                {s.value: AlertChannel.LIVE.value for s in Severity},
            )
            assert saved.status_code == 302
            assert renamed in browser.request(server_b, "GET", "/outcomes/calibration/").text
    finally:
        deployment.on_primary(
            "UPDATE outcomes_actiontype SET name = 'Email sent' WHERE code = 'email_sent'"
        )


def test_a_write_inside_a_replica_request_sends_its_later_reads_to_the_primary(deployment):
    """ "Refresh now" on a dashboard recounts today's numbers (a write), then reads them."""
    server = deployment.servers[0]
    with ReplayPaused(deployment):
        before = _log_size(deployment)
        response = deployment.get(
            server, "/dashboards/team/?refresh=1", cookie=deployment.manager_cookie
        )
        assert response.status_code == 200
        assert "outcomedaily" not in _replica_statements(deployment, before)
