"""Real-time insight events: publish from services, fan out to the open streams.

Publishing: every event goes to one channel, tagged with the organisation's schema, through
Redis pub/sub when ``settings.REDIS_URL`` is set and PostgreSQL NOTIFY otherwise.

Receiving: ONE listener per server process (one PostgreSQL connection doing LISTEN, or one
Redis subscription) hands each event to the queues of that process's open streams of the
event's organisation only. Before, every open stream held a connection of its own: ninety
open tabs exhausted PostgreSQL's connection limit for every organisation. The listener
starts with the first stream and stops a while after the last one closes; under WSGI no
stream is served, so it never starts. A person may hold at most
``INSIGHT_STREAMS_PER_USER`` streams per process (a clear 429 beyond).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import weakref
from collections import Counter
from collections.abc import AsyncIterator, Hashable
from functools import lru_cache

import psycopg
from django.conf import settings
from django.db import connection, connections, transaction
from psycopg import sql

from apps.insights.models import Insight

log = logging.getLogger(__name__)

CHANNEL = "learning_loop_insights"
APPLICATION_NAME = "learning-loop-insights-stream"
KEEPALIVE_SECONDS = 15.0
# A stream asks again this often whether its user is still active and allowed.
RECHECK_SECONDS = 30.0
STREAMS_PER_USER = 10
# The listener outlives its last stream this long: navigating between pages closes one
# stream and opens the next, which should not reconnect to the database each time.
LINGER_SECONDS = 30.0
RECONNECT_SECONDS = 1.0
QUEUE_SIZE = 200


def insight_event(kind: str, insight: Insight) -> dict:
    """What a browser needs to show or remove an insight (no DB access beyond the row)."""
    return {
        "kind": kind,
        "id": insight.pk,
        "title": insight.title,
        "severity": insight.severity,
        "pattern_type": insight.pattern_type,
        "status": insight.status,
        "account_id": insight.account_id,
        "subject": insight.subject,
        "owner_id": insight.account.owner_id if insight.account_id else None,
    }


def event_visible(payload: dict, *, user_pk: int | None, sees_all: bool) -> bool:
    """Whether a stream of someone who sees all insights (or only their own accounts') gets
    this event: the stream's form of ``insights_visible_to``."""
    if sees_all or payload.get("kind") == "bulk_resolved":
        return True
    return payload.get("owner_id") is not None and payload.get("owner_id") == user_pk


@lru_cache(maxsize=1)
def _redis_client():
    import redis

    return redis.Redis.from_url(settings.REDIS_URL)


def redis_channel() -> str:
    """Redis pub/sub channels are shared by every database number of a server: the channel
    names this deployment's PostgreSQL database, so two deployments on one Redis never hear
    each other's events (NOTIFY channels are per database already)."""
    return f"{CHANNEL}:{connections['default'].settings_dict['NAME']}"


def publish(payload: dict) -> None:
    """Send ``payload`` to every stream of the current schema, once the write commits."""
    publish_many([payload])


def publish_many(payloads: list[dict]) -> None:
    """Send each payload to every stream of the current schema, once the write commits:
    one statement (or one Redis pipeline) however many there are."""
    if not payloads:
        return
    schema = connection.schema_name
    messages = [json.dumps({"schema": schema, "event": p}, default=str) for p in payloads]
    if settings.REDIS_URL:
        channel = redis_channel()

        def send() -> None:
            pipeline = _redis_client().pipeline(transaction=False)
            for message in messages:
                pipeline.publish(channel, message)
            pipeline.execute()

        transaction.on_commit(send)
    else:
        # NOTIFY is transactional: listeners get it when (and only if) the write commits.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_notify(%s, message) FROM unnest(%s::text[]) AS message",
                [CHANNEL, messages],
            )


def _conninfo() -> str:
    db = connections["default"].settings_dict
    params = {
        "dbname": db["NAME"],
        "user": db.get("USER") or None,
        "password": db.get("PASSWORD") or None,
        "host": db.get("HOST") or None,
        "port": str(db["PORT"]) if db.get("PORT") else None,
        "application_name": APPLICATION_NAME,
    }
    return psycopg.conninfo.make_conninfo(**{k: v for k, v in params.items() if v})


def _setting(name: str, default):
    return getattr(settings, name, default)


class TooManyStreams(Exception):
    """The person already holds as many streams as they may in this process."""

    def __init__(self, limit: int):
        super().__init__(
            f"You have {limit} live streams open already (the limit per person). "
            "Close another tab or window and try again."
        )
        self.limit = limit


class _Hub:
    """The process's one listener and the queues of its open streams (one event loop)."""

    def __init__(self) -> None:
        self.queues: dict[str, set[asyncio.Queue]] = {}
        self.open_per_user: Counter[Hashable] = Counter()
        self.listener: asyncio.Task | None = None
        self.backend = ""
        self.live = asyncio.Event()
        self.stop_timer: asyncio.TimerHandle | None = None

    # --- streams ----------------------------------------------------------------------

    def reserve(self, user_key: Hashable) -> _Reservation:
        """Count one more stream for ``user_key`` or raise ``TooManyStreams``. No await:
        the check and the count are one step on the event loop."""
        limit = _setting("INSIGHT_STREAMS_PER_USER", STREAMS_PER_USER)
        if self.open_per_user[user_key] >= limit:
            raise TooManyStreams(limit)
        self.open_per_user[user_key] += 1
        return _Reservation(self, user_key)

    def release(self, user_key: Hashable) -> None:
        self.open_per_user[user_key] -= 1
        if self.open_per_user[user_key] <= 0:
            del self.open_per_user[user_key]

    def add(self, schema: str) -> asyncio.Queue:
        queue: asyncio.Queue = asyncio.Queue(maxsize=QUEUE_SIZE)
        self.queues.setdefault(schema, set()).add(queue)
        if self.stop_timer is not None:
            self.stop_timer.cancel()
            self.stop_timer = None
        backend = "redis" if settings.REDIS_URL else "postgresql"
        if self.listener is None or self.listener.done() or backend != self.backend:
            self._stop()
            self.backend = backend
            self.listener = asyncio.ensure_future(self._listen(backend))
        return queue

    def remove(self, schema: str, queue: asyncio.Queue) -> None:
        queues = self.queues.get(schema)
        if queues is not None:
            queues.discard(queue)
            if not queues:
                del self.queues[schema]
        if not self.queues and self.stop_timer is None:
            loop = asyncio.get_running_loop()
            self.stop_timer = loop.call_later(
                _setting("INSIGHT_STREAM_LINGER_SECONDS", LINGER_SECONDS), self._stop_if_idle
            )

    def _stop_if_idle(self) -> None:
        self.stop_timer = None
        if not self.queues:
            self._stop()

    def _stop(self) -> None:
        if self.listener is not None and not self.listener.done():
            self.listener.cancel()
        self.listener = None
        self.live.clear()

    def dispatch(self, raw: str | bytes) -> None:
        try:
            message = json.loads(raw)
            schema, event = message["schema"], message["event"]
        except (ValueError, TypeError, KeyError):
            log.warning("Ignoring a malformed insight event")
            return
        for queue in list(self.queues.get(schema, ())):
            with contextlib.suppress(asyncio.QueueFull):  # a stalled reader misses events
                queue.put_nowait(event)

    # --- the one listener -----------------------------------------------------------

    async def _listen(self, backend: str) -> None:
        while True:
            try:
                if backend == "redis":
                    await self._listen_redis()
                else:
                    await self._listen_postgresql()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - reconnect: streams keep their keep-alives
                log.exception("Insight event listener lost its connection; reconnecting")
            self.live.clear()
            await asyncio.sleep(RECONNECT_SECONDS)

    async def _listen_postgresql(self) -> None:
        listener = await psycopg.AsyncConnection.connect(_conninfo(), autocommit=True)
        try:
            await listener.execute(sql.SQL("LISTEN {}").format(sql.Identifier(CHANNEL)))
            self.live.set()
            async for notification in listener.notifies():
                self.dispatch(notification.payload)
        finally:
            self.live.clear()
            await listener.close()

    async def _listen_redis(self) -> None:
        import redis.asyncio as aioredis

        client = aioredis.from_url(settings.REDIS_URL)
        pubsub = client.pubsub()
        try:
            await pubsub.subscribe(redis_channel())
            self.live.set()
            async for message in pubsub.listen():
                if message.get("type") == "message":
                    self.dispatch(message["data"])
        finally:
            self.live.clear()
            await pubsub.aclose()
            await client.aclose()


class _Reservation:
    """One counted stream; released once, when the stream ends or is never started."""

    def __init__(self, hub: _Hub, user_key: Hashable):
        self._finalizer = weakref.finalize(self, hub.release, user_key)

    def release(self) -> None:
        self._finalizer()


_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Hub] = weakref.WeakKeyDictionary()


def hub() -> _Hub:
    """This process's hub (one per event loop: uvicorn runs one loop per worker process)."""
    loop = asyncio.get_running_loop()
    if loop not in _hubs:
        _hubs[loop] = _Hub()
    return _hubs[loop]


def reserve_stream(user_key: Hashable) -> _Reservation:
    """Count a new stream of ``user_key`` (raises ``TooManyStreams``); call in the view, so
    the answer can still be a 429."""
    return hub().reserve(user_key)


async def subscribe(schema_name: str, reservation: _Reservation) -> AsyncIterator[dict | None]:
    """Yield each event of the schema; ``None`` when it is time for a keep-alive (and every
    ``RECHECK_SECONDS`` at the latest, so the caller can re-check its viewer).

    The first item is ``None`` once the process's listener is live.
    """
    current = hub()
    queue = current.add(schema_name)
    try:
        await current.live.wait()
        yield None
        keepalive = min(
            KEEPALIVE_SECONDS, _setting("INSIGHT_STREAM_RECHECK_SECONDS", RECHECK_SECONDS)
        )
        while True:
            try:
                yield await asyncio.wait_for(queue.get(), timeout=keepalive)
            except TimeoutError:
                yield None
    finally:
        current.remove(schema_name, queue)
        reservation.release()


def open_streams(user_key: Hashable) -> int:
    """How many streams ``user_key`` holds in this process (for tests and the admin)."""
    return hub().open_per_user.get(user_key, 0)
