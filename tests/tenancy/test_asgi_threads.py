"""The ASGI application keeps the threads that run requests' synchronous code: the next
request runs on a free one instead of starting (and joining) a thread of its own, and
requests at the same time still each have their own."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from django.core.signals import request_started
from django.db import connections

from learning_site.asgi import ThreadKeepingASGIHandler
from tests.asgi_request import asgi_scope

pytestmark = pytest.mark.django_db


async def _get(application, path: str = "/ping") -> int:
    scope = asgi_scope(path)
    sent, body = [], [{"type": "http.request", "body": b"", "more_body": False}]

    async def receive():  # the body, then nothing until Django stops listening
        return body.pop() if body else await asyncio.Future()

    async def send(message):
        sent.append(message)

    await application(scope, receive, send)
    return sent[0]["status"]


@pytest.fixture
def threads_seen():
    """The thread each request's synchronous code started on (``request_started``)."""
    seen: list[int] = []

    def note(sender, **kwargs):
        seen.append(threading.get_ident())
        time.sleep(0.05)  # long enough for requests sent together to overlap

    request_started.connect(note)
    yield seen
    request_started.disconnect(note)


def _close_connections(application) -> None:
    for thread in application._free:
        thread.submit(connections.close_all).result()
        thread.shutdown()


def test_one_request_after_another_runs_on_the_same_kept_thread(threads_seen):
    application = ThreadKeepingASGIHandler()
    try:
        statuses = [asyncio.run(_get(application)) for _ in range(3)]
    finally:
        _close_connections(application)
    assert statuses == [200, 200, 200]
    assert len(set(threads_seen)) == 1 and threads_seen[0] != threading.get_ident()


def test_requests_at_the_same_time_each_have_a_thread(threads_seen):
    application = ThreadKeepingASGIHandler()

    async def together():
        return await asyncio.gather(*(_get(application) for _ in range(3)))

    try:
        assert asyncio.run(together()) == [200, 200, 200]
        assert len(application._free) == 3  # kept for the next ones
        assert asyncio.run(_get(application)) == 200
    finally:
        _close_connections(application)
    assert len(set(threads_seen[:3])) == 3
    assert threads_seen[3] in threads_seen[:3]


def test_the_middleware_chain_runs_in_one_synchronous_call():
    """One hop to the request's thread, not Django's asynchronous chain (loop, thread,
    loop, thread around the views)."""
    application = ThreadKeepingASGIHandler()
    assert not asyncio.iscoroutinefunction(application._middleware_chain)
