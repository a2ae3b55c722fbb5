"""GET a path through Django's ASGI handler in-process, as uvicorn calls it.

For exports: under ASGI Django reads a synchronous iterator whole before the first byte
and warns; ``asgi_get`` turns that warning into an error, so a test fails if an export
is served from a synchronous iterator. The handler runs on the test's own connection
and transaction (views read in the calling thread), so the test's data is visible.
"""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Callable

from asgiref.sync import async_to_sync
from django.core.handlers.asgi import ASGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client

from tests.conftest import ORG_HOST


def asgi_scope(path: str, query: str = "", headers: list | None = None) -> dict:
    """The ASGI scope of a GET of ``path?query`` to the test organisation's host."""
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": headers or [(b"host", ORG_HOST.encode())],
        "client": ("127.0.0.1", 5000),
        "server": (ORG_HOST, 80),
    }


def asgi_get(
    path: str,
    query: str = "",
    *,
    user=None,
    key: str | None = None,
    on_chunk: Callable[[bytes], None] | None = None,
) -> tuple[dict, bytes]:
    """GET ``path?query`` as ``user`` (a session) or with API ``key``; returns the
    ``http.response.start`` message and the body. ``on_chunk`` sees each body chunk sent."""
    headers = [(b"host", ORG_HOST.encode())]
    if user is not None:
        client = Client(HTTP_HOST=ORG_HOST)
        client.force_login(user)
        cookie = "; ".join(f"{name}={morsel.value}" for name, morsel in client.cookies.items())
        headers.append((b"cookie", cookie.encode()))
    if key is not None:
        headers.append((b"authorization", f"Bearer {key}".encode()))
    scope = asgi_scope(path, query, headers)
    start: dict = {}
    body: list[bytes] = []
    requested: list[bool] = []

    async def receive():
        if not requested:
            requested.append(True)
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.Event().wait()  # the client stays connected until the end

    async def send(message):
        if message["type"] == "http.response.start":
            start.update(message)
        elif message.get("body"):
            if on_chunk is not None:
                on_chunk(message["body"])
            body.append(message["body"])

    # The test's connection holds its transaction; the handler must not close it.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        with warnings.catch_warnings():
            # Django warns exactly when it buffers a synchronous iterator under ASGI.
            warnings.filterwarnings("error", message=".*synchronous iterators.*")
            async_to_sync(ASGIHandler())(scope, receive, send)
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    return start, b"".join(body)
