"""The Redis cache backend (``CACHES`` with ``REDIS_URL``), with one connection pool per
process instead of one per request.

Django keeps a cache object per thread or async context, and its Redis backend opens a
connection pool per cache object. Under ASGI every request runs in a context of its own, so
each request that touched the cache (a throttle count, a cached session) built a pool and
opened a new connection to Redis, with its handshake, and a new client object on every
call. Here the pools and their clients are shared by every cache object of the process
(redis-py's pools and clients are thread-safe, and a pool reopens its connections in a
forked child).
"""

from __future__ import annotations

import threading

from django.core.cache.backends.redis import RedisCache, RedisCacheClient

_lock = threading.Lock()
_clients: dict[tuple, object] = {}


class _SharedPoolClient(RedisCacheClient):
    def get_client(self, key=None, *, write=False):
        index = self._get_connection_pool_index(write)
        shared = (self._servers[index], repr(sorted(self._pool_options.items())))
        client = _clients.get(shared)
        if client is None:
            with _lock:
                client = _clients.get(shared)
                if client is None:
                    pool = self._pool_class.from_url(self._servers[index], **self._pool_options)
                    client = _clients[shared] = self._client(connection_pool=pool)
        return client


class SharedPoolRedisCache(RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = _SharedPoolClient
