"""PgBouncer: session pooling is the supported mode (docs/DEPLOYING.md).

django-tenants selects an organisation with `SET search_path`, a statement of its own sent
once per connection. Through a real PgBouncer in transaction mode the statement after it may
run on another server connection: this test shows one client reading with another client's
organisation. In session mode each client keeps its server connection, and the app runs
through it with every organisation seeing only its own data. Declaring transaction mode
(`DATABASE_POOL_MODE=transaction`) stops the process at start.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
import requests
from django.db import connection
from django_tenants.utils import schema_context

from apps.tenancy.models import Organization
from apps.users.services import api_key_create
from tests.multihost.clusters import PGBOUNCER, pgbouncer
from tests.multihost.servers import ROOT, host_environment, web_servers

pytestmark = pytest.mark.services


@pytest.fixture
def bouncer_available():
    if not Path(PGBOUNCER).exists():
        pytest.fail(
            "PgBouncer is not installed: make test-services installs it (apt-get install pgbouncer)"
        )


def _database() -> tuple[int, str]:
    db = connection.settings_dict
    return int(db.get("PORT") or 5432), db["NAME"]


def _client(port: int, database: str) -> psycopg.Connection:
    # Django's way: autocommit, each statement its own transaction.
    return psycopg.connect(f"postgresql://postgres@127.0.0.1:{port}/{database}", autocommit=True)


def _search_path_after_another_client_sets_its_own(port: int, database: str) -> str:
    with _client(port, database) as acme, _client(port, database) as globex:
        acme.execute('SET search_path = "org_acme", public')
        globex.execute('SET search_path = "org_globex", public')
        return acme.execute("SHOW search_path").fetchone()[0]


def test_transaction_pooling_gives_a_client_another_organisations_schema(
    django_db_setup, bouncer_available
):
    target, database = _database()
    with pgbouncer(target, database, pool_mode="transaction", pool_size=1) as port:
        assert _search_path_after_another_client_sets_its_own(port, database).startswith(
            "org_globex"
        )
    with pgbouncer(target, database, pool_mode="session", pool_size=2) as port:
        assert _search_path_after_another_client_sets_its_own(port, database).startswith("org_acme")


def test_declaring_transaction_pooling_stops_the_app_at_start():
    env = host_environment(DATABASE_POOL_MODE="transaction")
    started = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert started.returncode != 0
    assert "pool_mode = session" in started.stderr


def test_the_app_serves_each_organisation_its_own_data_through_session_pooling(
    fresh_org, bouncer_available
):
    target, database = _database()
    other = Organization.objects.get(slug="globex")
    keys = {fresh_org.slug: api_key_create(name="agent")[1]}
    with schema_context(other.schema_name):
        keys[other.slug] = api_key_create(name="pgbouncer agent")[1]
    hosts = {t.slug: t.get_primary_domain().domain for t in (fresh_org, other)}
    try:
        with pgbouncer(target, database, pool_mode="session", pool_size=20) as port:
            env = host_environment(
                DATABASE_URL=f"postgresql://postgres@127.0.0.1:{port}/{database}"
            )
            with web_servers(["pgbouncer-web"], env, hosts[fresh_org.slug]) as (server,):

                def call(slug: str, method: str, **kwargs):
                    headers = {"Host": hosts[slug], "Authorization": f"Bearer {keys[slug]}"}
                    return requests.request(
                        method, f"{server.base_url}/api/v1/accounts/", headers=headers,
                        timeout=30, **kwargs,
                    )  # fmt: skip

                for number in range(5):  # interleaved, on the pool's server connections
                    for slug in hosts:
                        created = call(
                            slug, "POST", json={"external_id": f"{slug}-{number}", "name": slug}
                        )
                        assert created.status_code == 201, created.text
                        listed = {a["external_id"] for a in call(slug, "GET").json()["results"]}
                        assert {f"{slug}-{n}" for n in range(number + 1)} <= listed
                        others = [o for o in hosts if o != slug]
                        assert not any(i.startswith(f"{o}-") for i in listed for o in others)
                with psycopg.connect(
                    f"postgresql://postgres@127.0.0.1:{port}/pgbouncer", autocommit=True
                ) as admin:
                    clients = admin.execute("SHOW CLIENTS").fetchall()
                assert any(database in row for row in clients)  # the app came through it
    finally:
        with schema_context(other.schema_name):
            from apps.crm.models import Account
            from apps.users.models import ApiKey

            Account.objects.filter(external_id__startswith=f"{other.slug}-").delete()
            ApiKey.objects.filter(name="pgbouncer agent").delete()
