"""Real-time insight events: publish from services, subscribe from the SSE stream.

Fan-out across processes goes through Redis pub/sub when ``settings.REDIS_URL`` is set,
PostgreSQL LISTEN/NOTIFY otherwise. The channel is per schema, so an organisation's
browsers only hear that organisation's events.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from functools import lru_cache

import psycopg
from django.conf import settings
from django.db import connection, connections, transaction
from psycopg import sql

from apps.insights.models import Insight

KEEPALIVE_SECONDS = 15.0


def channel_for(schema_name: str) -> str:
    return f"insights_{schema_name}"


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


@lru_cache(maxsize=1)
def _redis_client():
    import redis

    return redis.Redis.from_url(settings.REDIS_URL)


def publish(payload: dict) -> None:
    """Send ``payload`` to every subscriber of the current schema, once the write commits."""
    channel = channel_for(connection.schema_name)
    message = json.dumps(payload, default=str)
    if settings.REDIS_URL:
        transaction.on_commit(lambda: _redis_client().publish(channel, message))
    else:
        # NOTIFY is transactional: listeners get it when (and only if) the write commits.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_notify(%s, %s)", [channel, message])


def _conninfo() -> str:
    db = connections["default"].settings_dict
    params = {
        "dbname": db["NAME"],
        "user": db.get("USER") or None,
        "password": db.get("PASSWORD") or None,
        "host": db.get("HOST") or None,
        "port": str(db["PORT"]) if db.get("PORT") else None,
        "application_name": "learning-loop-insights-stream",
    }
    return psycopg.conninfo.make_conninfo(**{k: v for k, v in params.items() if v})


async def subscribe(schema_name: str) -> AsyncIterator[str | None]:
    """Yield each message published for the schema; ``None`` when it is time for a keep-alive.

    The first item is ``None`` once the subscription is live.
    """
    channel = channel_for(schema_name)
    if settings.REDIS_URL:
        import redis.asyncio as aioredis

        client = aioredis.from_url(settings.REDIS_URL)
        pubsub = client.pubsub()
        try:
            await pubsub.subscribe(channel)
            yield None
            while True:
                message = await pubsub.get_message(
                    ignore_subscribe_messages=True, timeout=KEEPALIVE_SECONDS
                )
                if message is None:
                    yield None
                else:
                    data = message["data"]
                    yield data.decode() if isinstance(data, bytes) else data
        finally:
            await pubsub.aclose()
            await client.aclose()
        return
    listener = await psycopg.AsyncConnection.connect(_conninfo(), autocommit=True)
    try:
        await listener.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
        yield None
        while True:
            async for notification in listener.notifies(timeout=KEEPALIVE_SECONDS):
                yield notification.payload
            yield None
    finally:
        await listener.close()
