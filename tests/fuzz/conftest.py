"""A live `make serve` server (gunicorn + uvicorn workers, production settings) on the test
database, with one committed organisation, an agent key and a manager key."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from django.db import connection
from django_tenants.utils import schema_context

from tests.database_url import database_url

ROOT = Path(__file__).resolve().parents[2]
SERVER_START_SECONDS = 120


@dataclass
class LiveApi:
    base_url: str
    host: str
    agent_key: str
    manager_key: str

    def headers(self, key: str) -> dict[str, str]:
        return {"Host": self.host, "Authorization": f"Bearer {key}"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _seed(api: LiveApi) -> None:
    """A little of everything, so list and detail responses carry real rows."""
    agent = requests.Session()
    agent.headers.update(api.headers(api.agent_key))
    for number in range(3):
        agent.post(
            f"{api.base_url}/api/v1/accounts/",
            json={"external_id": f"acc-{number}", "name": f"Account {number}", "industry": "SaaS"},
        )
        agent.post(
            f"{api.base_url}/api/v1/deals/",
            json={
                "external_id": f"deal-{number}",
                "account": f"acc-{number}",
                "name": f"Deal {number}",
                "stage": "qualification",
                "amount": "1000.00",
            },
        )
        agent.post(
            f"{api.base_url}/api/v1/outcomes/",
            json={
                "external_id": f"out-{number}",
                "action_type": "email_sent",
                "account": f"acc-{number}",
                "predicted_confidence": 0.5 + number / 10,
                "output_text": "Hi, following up on our call.",
            },
        )


@pytest.fixture(scope="session")
def live_api(django_db_setup, django_db_blocker):
    from apps.tenancy.services import organization_create
    from apps.users.services import api_key_create
    from tests.factories.users import UserFactory

    slug = f"fuzz{os.getpid()}"
    with django_db_blocker.unblock():
        tenant = organization_create(slug=slug, name="Fuzz Org")
        with schema_context(tenant.schema_name):
            manager = UserFactory(username="fuzz-manager", role="manager")
            UserFactory(username="fuzz-rep", role="rep", manager=manager)
            agent_key = api_key_create(name="fuzz agent")[1]
            manager_key = api_key_create(name="fuzz manager", user=manager)[1]
        connection.set_schema_to_public()
        url = database_url()

    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "PORT": str(port),
        "WEB_CONCURRENCY": "2",
        "API_THROTTLE_RATE": "1000000/minute",
        "API_THROTTLE_RATE_USER": "1000000/minute",
        "GUNICORN_LOG_LEVEL": "error",
    }
    for inherited in ("DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE", "TEST_DATABASE_NAME"):
        env.pop(inherited, None)
    (ROOT / "artifacts").mkdir(exist_ok=True)
    log = open(ROOT / "artifacts" / "fuzz-server.log", "w")  # closed in the finally below
    server = subprocess.Popen(
        [sys.executable, "-m", "ops.serve", "--web-only", "--no-migrate", "--no-demo"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    api = LiveApi(f"http://127.0.0.1:{port}", f"{slug}.localhost", agent_key, manager_key)
    try:
        deadline = time.time() + SERVER_START_SECONDS
        while True:
            try:
                if requests.get(f"{api.base_url}/healthz", headers={"Host": api.host}).ok:
                    break
            except requests.ConnectionError:
                pass
            if server.poll() is not None or time.time() > deadline:
                raise RuntimeError("the server did not start; see artifacts/fuzz-server.log")
            time.sleep(0.5)
        _seed(api)
        yield api
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=30)
        log.close()
        with django_db_blocker.unblock():
            connection.set_schema_to_public()
            tenant.delete(force_drop=True)
