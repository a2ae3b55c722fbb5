"""Web servers and Celery workers as real processes, each started the way `make serve` starts
them on a host of its own (production settings, gunicorn with uvicorn workers)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests
from django.conf import settings

from tests.database_url import database_url
from tests.multihost.clusters import free_port

ROOT = Path(__file__).resolve().parents[2]
LOGS = ROOT / "artifacts" / "multihost"
START_SECONDS = 120


def host_environment(**overrides: str) -> dict[str, str]:
    """What every process of one deployment gets: the test run's environment, production
    settings, generous API throttles unless a test sets its own."""
    env = {
        **os.environ,
        "DJANGO_ENV": "production",
        "SECRET_KEY": settings.SECRET_KEY,  # the tests sign session cookies with it
        "ALLOWED_HOSTS": "localhost,.localhost,127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "DATABASE_URL": database_url(),
        "WEB_CONCURRENCY": "1",
        "GUNICORN_LOG_LEVEL": "error",
        "LOG_LEVEL": "WARNING",
        **overrides,
    }
    for inherited in ("DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE", "TEST_DATABASE_NAME"):
        env.pop(inherited, None)
    return env


@dataclass
class WebServer:
    name: str
    port: int

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class Browser:
    """A person's browser on ``host``: its own cookies, sent to whichever server it is
    pointed at. (Production cookies are Secure; the servers here speak plain http, so the
    jar is ours.)"""

    def __init__(self, host: str):
        self.host = host
        self.cookies: dict[str, str] = {}

    def request(self, server: WebServer, method: str, path: str, **kwargs):
        headers = {"Host": self.host, **kwargs.pop("headers", {})}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        response = requests.request(
            method, f"{server.base_url}{path}", headers=headers, allow_redirects=False,
            timeout=30, **kwargs,
        )  # fmt: skip
        for cookie in response.cookies:
            if cookie.value:
                self.cookies[cookie.name] = cookie.value
            else:
                self.cookies.pop(cookie.name, None)
        return response

    def submit(self, server: WebServer, path: str, data: dict[str, str]):
        """GET the form at ``path``, POST ``data`` with its CSRF token, as a browser would."""
        form = self.request(server, "GET", path)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text).group(1)
        return self.request(server, "POST", path, data={**data, "csrfmiddlewaretoken": token})

    def log_in(self, server: WebServer, username: str, password: str):
        return self.submit(server, "/login/", {"username": username, "password": password})


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


@contextmanager
def _process(name: str, command: list[str], env: dict[str, str]) -> Iterator[subprocess.Popen]:
    LOGS.mkdir(parents=True, exist_ok=True)
    with open(LOGS / f"{name}.log", "w") as log:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        try:
            yield process
        finally:
            _stop(process)


def _wait_until_answering(server: WebServer, process: subprocess.Popen, host: str) -> None:
    deadline = time.monotonic() + START_SECONDS
    while True:
        try:
            if requests.get(f"{server.base_url}/healthz", headers={"Host": host}).ok:
                return
        except requests.ConnectionError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{server.name} did not start; see {LOGS / server.name}.log")
        time.sleep(0.3)


@contextmanager
def web_servers(names: list[str], env: dict[str, str], host: str) -> Iterator[list[WebServer]]:
    """``python -m ops.serve --web-only`` per name, each on a free port, once it answers
    /healthz. One after the other: on one machine they share .data/staticfiles, which each
    one's collectstatic rewrites (hosts of their own would not)."""
    command = [sys.executable, "-m", "ops.serve", "--web-only", "--no-migrate", "--no-demo"]
    with ExitStack() as stack:
        servers = []
        for name in names:
            server = WebServer(name, free_port())
            process = stack.enter_context(
                _process(name, command, {**env, "PORT": str(server.port)})
            )
            _wait_until_answering(server, process, host)
            servers.append(server)
        yield servers


@contextmanager
def celery_worker(name: str, env: dict[str, str]) -> Iterator[subprocess.Popen]:
    """A Celery worker consuming from the shared Redis, as `make serve` starts it."""
    command = [sys.executable, "-m", "celery", "-A", "learning_site", "worker", "-l", "warning",
               "--concurrency", "1", "-n", f"{name}@%h"]  # fmt: skip
    with _process(name, command, env) as process:
        yield process
