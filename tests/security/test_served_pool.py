"""The web server as `make serve` runs it (gunicorn, uvicorn worker) lends database connections from a pool: requests reuse them instead of opening one each,
and the live stream still works through it."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import time
from pathlib import Path

import pytest
from django.db import connection

from apps.tenancy.services import default_domain_for
from apps.users.services import api_key_create
from ops import serve
from tests.database_url import database_url

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _sessions_so_far() -> int:
    time.sleep(1.2)  # the statistics collector reports connections within a second
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT sessions FROM pg_stat_database WHERE datname = current_database()")
        return cursor.fetchone()[0]


@pytest.fixture
def served(fresh_org, tmp_path):
    """``make serve``'s web server (gunicorn, one uvicorn worker) on the test database:
    (port, host)."""
    port = _free_port()
    command = serve.gunicorn_command(workers=1)
    command[command.index("--bind") + 1] = f"127.0.0.1:{port}"
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        # Production settings but for static files, which would need a collectstatic first.
        "DJANGO_ENV": "development",
        "DJANGO_DEBUG": "0",
        "ALLOWED_HOSTS": ".localhost",
        "SECURE_SSL_REDIRECT": "0",
        "LL_DATA_DIR": str(tmp_path),
        "LOG_LEVEL": "WARNING",
    }
    env.pop("REDIS_URL", None)
    log = (tmp_path / "server.log").open("w")
    server = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    host = default_domain_for(fresh_org.slug)
    try:
        deadline, answer = time.monotonic() + 60, None
        while True:
            try:
                answer = _get(port, host, "/ping")
                if answer[0] == 200:
                    break
            except OSError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, (
                answer,
                host,
                env["DATABASE_URL"],
                (tmp_path / "server.log").read_text()[-600:],
            )
            time.sleep(0.3)
        yield port, host
    finally:
        server.terminate()
        server.wait(timeout=20)
        log.close()


def _get(port: int, host: str, path: str, headers: dict | None = None) -> tuple[int, bytes]:
    client = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    client.request("GET", path, headers={"Host": host, **(headers or {})})
    response = client.getresponse()
    body = response.read()
    client.close()
    return response.status, body


def test_requests_reuse_pooled_connections_and_the_stream_still_flows(served):
    port, host = served
    key = api_key_create(name="agent")[1]
    bearer = {"Authorization": f"Bearer {key}"}
    assert _get(port, host, "/api/v1/accounts/", bearer)[0] == 200  # the pool opens
    before = _sessions_so_far()
    for _ in range(30):
        assert _get(port, host, "/api/v1/accounts/", bearer)[0] == 200
    assert _sessions_so_far() - before <= 2  # one connection a request before the pool

    stream = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    stream.request(
        "GET",
        "/api/v1/insights/stream/",
        headers={"Host": host, **bearer, "Accept": "text/event-stream"},
    )
    response = stream.getresponse()
    assert response.status == 200
    assert response.readline() == b"retry: 3000\n"
    stream.close()
    # The open stream held no connection from the pool: requests still get one.
    assert _get(port, host, "/api/v1/accounts/", bearer)[0] == 200
