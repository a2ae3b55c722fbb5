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


async def _get(application, path: str = "/ping", *, leave: bool = False) -> int | None:
    """GET ``path``; ``leave``: the client goes away as soon as it has sent the request."""
    scope = asgi_scope(path)
    sent, body = [], [{"type": "http.request", "body": b"", "more_body": False}]

    async def receive():  # the body, then nothing (or the client leaving)
        if body:
            return body.pop()
        if leave:
            await asyncio.sleep(0.1)  # the view has started by then
            return {"type": "http.disconnect"}
        await asyncio.Future()

    async def send(message):
        sent.append(message)

    await application(scope, receive, send)
    return sent[0]["status"] if sent else None


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
    for thread in list(application._free):
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


def test_a_view_still_running_for_a_client_that_left_ends_before_its_thread_serves_again():
    """The client leaves while the view runs: its thread goes back to the free ones only
    once the view has ended, so the next request never waits behind it on that thread."""
    application = ThreadKeepingASGIHandler()
    chain, calls = application._middleware_chain, []

    def slow_first(request):
        calls.append(["start", time.monotonic(), threading.get_ident()])
        if len(calls) == 1:
            time.sleep(0.3)
        response = chain(request)
        calls[-1].append(time.monotonic())
        return response

    application._middleware_chain = slow_first
    try:
        assert asyncio.run(_get(application, leave=True)) is None  # nothing was sent
        assert asyncio.run(_get(application)) == 200
    finally:
        _close_connections(application)
    (*_, first_end), (_, second_start, *_) = calls
    assert second_start >= first_end
