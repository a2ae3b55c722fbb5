"""Run the real ASGI app under uvicorn in a thread, against the test database.

The SSE stream is an async view: Django's WSGI live server would buffer it, so tests of
real-time delivery talk to uvicorn, like ``make run`` does.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from django.conf import settings
from django.test import Client


@contextmanager
def running_asgi_server() -> Iterator[int]:
    """Start uvicorn on a free port; yield the port; stop it afterwards."""
    from django.db import connection, connections

    from learning_site.asgi import application

    # The server's threads must not keep connections open, or the test database
    # cannot be dropped at the end of the run.
    db_settings = connections.settings["default"]
    max_age = db_settings.get("CONN_MAX_AGE", 0)
    db_settings["CONN_MAX_AGE"] = 0

    config = uvicorn.Config(
        application,
        host="127.0.0.1",
        port=0,
        log_level="warning",
        lifespan="off",
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=5)
        db_settings["CONN_MAX_AGE"] = max_age
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                " AND application_name = 'learning-loop-insights-stream'"
            )


def host(tenant) -> str:
    return tenant.get_primary_domain().domain


def session_cookie(tenant, user) -> str:
    client = Client(HTTP_HOST=host(tenant))
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


class Stream:
    """A connected EventSource-like client (a session cookie or a Bearer key), read line by line."""

    def __init__(self, port: int, tenant, *, cookie: str = "", key: str = "", path: str = ""):
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        headers = {"Host": host(tenant), "Accept": "text/event-stream"}
        if cookie:
            headers["Cookie"] = cookie
        if key:
            headers["Authorization"] = f"Bearer {key}"
        path = path or ("/api/v1/insights/stream/" if key else "/insights/stream/")
        self.connection.request("GET", path, headers=headers)
        self.response = self.connection.getresponse()

    @property
    def status(self) -> int:
        return self.response.status

    def wait_until_live(self) -> None:
        self.read_until(lambda line: line.startswith(": keep-alive"), seconds=5)

    def next_event(self, seconds: float, name: str = "insight") -> dict:
        self.read_until(lambda line: line == f"event: {name}", seconds)
        data = self.read_until(lambda line: line.startswith("data: "), seconds)
        return json.loads(data.removeprefix("data: "))

    def read_until(self, matches, seconds: float) -> str:
        self.response.fp.raw._sock.settimeout(seconds)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            raw = self.response.readline()
            if not raw:
                raise EOFError("the stream ended")
            line = raw.decode().rstrip("\n")
            if matches(line):
                return line
        raise TimeoutError("no matching line in time")

    def ended(self, seconds: float) -> bool:
        try:
            self.read_until(lambda line: False, seconds)
        except EOFError:
            return True
        except TimeoutError:
            return False
        return False

    def close(self) -> None:
        self.connection.close()
