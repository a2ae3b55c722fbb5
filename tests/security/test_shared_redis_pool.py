"""The Redis cache backend keeps one connection pool and client per process
(apps/web/cache.py): under ASGI each request has a cache object of its own, and Django's
backend opened a new pool, and a new connection to Redis, for each of them."""

from __future__ import annotations

import os
import threading

import pytest

from apps.web.cache import SharedPoolRedisCache

URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/11"


def test_cache_objects_of_a_process_share_one_client():
    first, second = SharedPoolRedisCache(URL, {}), SharedPoolRedisCache(URL, {})
    client = first._cache.get_client(write=True)
    assert second._cache.get_client(write=True) is client
    assert first._cache.get_client("any key", write=False) is client  # one server
    elsewhere = []
    thread = threading.Thread(
        target=lambda: elsewhere.append(SharedPoolRedisCache(URL, {})._cache.get_client())
    )
    thread.start()
    thread.join()
    assert elsewhere == [client]


def test_another_server_or_database_has_its_own_client():
    client = SharedPoolRedisCache(URL, {})._cache.get_client()
    other = SharedPoolRedisCache(URL.rsplit("/", 1)[0] + "/12", {})._cache.get_client()
    assert other is not client


@pytest.mark.services
def test_many_cache_objects_use_one_connection():
    import redis

    assert os.environ.get("REDIS_URL"), "set REDIS_URL for this test"
    before = redis.Redis.from_url(URL).info("stats")["total_connections_received"]
    for number in range(20):
        cache = SharedPoolRedisCache(URL, {})  # as 20 requests, each in its own context
        cache.set(f"shared-pool-{number}", number)
        assert cache.get(f"shared-pool-{number}") == number
    after = redis.Redis.from_url(URL).info("stats")["total_connections_received"]
    assert after - before <= 2  # this test's own INFO client, and the pool's one connection
