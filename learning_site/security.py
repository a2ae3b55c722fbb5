"""Login rate limiting and API throttling.

Failed logins are recorded by django-axes in the organisation's own schema (its tables are
tenant tables), so a lockout in one organisation never touches the same username in
another. API calls are throttled per API key; the throttle's counters are kept per schema
(Redis keys prefixed by ``django_tenants.cache.make_key``, table rows by the schema name).
"""

from __future__ import annotations

import os
import random
import threading
import time

from axes.backends import AxesStandaloneBackend
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.core.cache import cache, caches
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from django.db import connection
from django.forms.utils import ErrorDict
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django_tenants.utils import get_public_schema_name
from redis.exceptions import RedisError
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle


class LoginRateLimitBackend(AxesStandaloneBackend):
    """Refuses sign-in while the username is locked out from this client address.

    Authentication without a request (``Client.login`` in tests, a shell) has no client to
    rate-limit, so it passes through to the next backend instead of failing.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def client_ip(request: HttpRequest) -> str | None:
    """The client's address: REMOTE_ADDR, or the X-Forwarded-For entry added by the last
    of ``TRUSTED_PROXY_COUNT`` proxies in front of us."""
    proxies = settings.TRUSTED_PROXY_COUNT
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies and forwarded:
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if len(hops) >= proxies:
            return hops[-proxies]
    return request.META.get("REMOTE_ADDR") or None


def lockout_message() -> str:
    minutes = max(1, int(settings.AXES_COOLOFF_TIME.total_seconds() // 60))
    return f"Too many failed sign-in attempts. Try again in {minutes} minutes."


def login_lockout_response(request: HttpRequest, original_response=None, credentials=None):
    """The sign-in page again, with the lockout explained, as 429 Too Many Requests.

    Unknown usernames are locked out exactly like real ones, so the page reveals nothing
    about which accounts exist.
    """
    username = (credentials or {}).get("username") or request.POST.get("username", "")
    form = AuthenticationForm(request, initial={"username": username})
    form._errors = ErrorDict({"__all__": form.error_class([lockout_message()])})
    response: HttpResponse = render(
        request,
        "registration/login.html",
        {"form": form, "next": request.POST.get("next", "")},
        status=429,
    )
    response["Retry-After"] = str(int(settings.AXES_COOLOFF_TIME.total_seconds()))
    return response


def throttle_store() -> str:
    """Where budgets are counted: ``redis`` (REDIS_URL), ``cache`` for the tests' in-memory
    cache (process-local, so never in a served deployment), else ``database``."""
    backend = caches["default"]  # ``cache`` is a proxy: isinstance needs the backend
    if isinstance(backend, RedisCache):
        return "redis"
    if isinstance(backend, LocMemCache):
        return "cache"
    return "database"


def throttle_count(
    budget: str, window_start: int, window: int, store: str = "", *, limit: int | None = None
) -> int:
    """Count one request against ``budget`` in the window starting at ``window_start``;
    the window's count so far. One round trip, shared by every process and server: on
    Redis (``REDIS_URL``) a pipelined SET NX + INCR; without it, an upsert of one row of the
    unlogged ``tenancy_throttlecounter`` table (a file-cache write cost 1.1 ms a request,
    Django's cache add + incr on Redis three round trips, 2.3 ms; these 0.2 and 0.14 ms).

    On Redis, with the budget's ``limit``, a count far below it is counted ahead: sent
    without waiting for the answer (``_CountedAhead``).
    """
    store = store or throttle_store()
    if store == "redis":
        key = cache.make_and_validate_key(f"{budget}:{window_start}")
        return _counted_ahead.count(key, window, limit)
    if store == "cache":
        key = f"{budget}:{window_start}"
        cache.add(key, 0, timeout=window + 1)
        return cache.incr(key)
    with connection.cursor() as cursor:
        cursor.execute(_COUNT_SQL, [f"{connection.schema_name}:{budget}", window_start])
        count = cursor.fetchone()[0]
        if random.random() < 0.001:  # now and then, forget budgets idle for a day
            cursor.execute(_FORGET_SQL, [window_start - 86400])
    return count


_COUNT_SQL = f"""
    INSERT INTO "{get_public_schema_name()}"."tenancy_throttlecounter" AS counter
        (key, window_start, count) VALUES (%s, %s, 1)
    ON CONFLICT (key) DO UPDATE SET
        count = CASE WHEN counter.window_start = EXCLUDED.window_start
                THEN counter.count + 1 ELSE 1 END,
        window_start = EXCLUDED.window_start
    RETURNING count
"""
_FORGET_SQL = (
    f'DELETE FROM "{get_public_schema_name()}"."tenancy_throttlecounter" WHERE window_start < %s'
)


class _CountedAhead(threading.local):
    """Budgets counted on Redis by each thread on a connection of its own, the count of a
    budget far below its limit counted ahead: sent, and the request let through, without
    waiting for Redis's answer, which the thread reads at its next count. The wait was a
    round trip on every API call (0.3 ms of the 3.6 of rating an output, bench/run.py).

    A thread counts ahead only a budget it has counted in this window and last found below
    its last tenth (``_margin``); otherwise (the first count, and near the limit) it waits
    for the count as before. Counts made on other threads and servers meanwhile are not
    seen until then: past the limit, each thread lets one request more through at most
    before it reads a count over it and refuses.
    """

    def __init__(self):
        self.connection = None
        self.pid = 0
        self.unread: list[str] = []  # keys of the counts sent whose answers are unread
        self.counts: dict[str, int] = {}  # key: the count this thread last read or sent

    def count(self, key: str, window: int, limit: int | None) -> int:
        try:
            self._read_unread()
        except (RedisError, OSError):
            self._drop()  # counted by Redis or not: the counts sent are forgotten
        known = self.counts.get(key)
        if limit is not None and known is not None and known < limit - _margin(limit):
            try:
                self._send(key, window)
            except (RedisError, OSError):
                self._drop()
            else:
                self.unread.append(key)
                self.counts[key] = known + 1
                return known + 1
        try:
            return self._count_now(key, window)
        except (RedisError, OSError):
            self._drop()  # a connection Redis closed (idle, restarted): once more, anew
            return self._count_now(key, window)

    def _count_now(self, key: str, window: int) -> int:
        if len(self.counts) >= _KEYS_KEPT:
            self.counts.clear()  # budgets of past windows, of keys seen once
        self._send(key, window)
        self.connection.read_response()  # SET's
        count = self.counts[key] = self.connection.read_response()
        return count

    def _send(self, key: str, window: int) -> None:
        if self.connection is None or self.pid != os.getpid():
            pool = cache._cache.get_client(write=True).connection_pool
            self.connection = pool.connection_class(**pool.connection_kwargs)
            self.pid, self.unread, self.counts = os.getpid(), [], {}
        self.connection.send_packed_command(
            self.connection.pack_commands([("SET", key, 0, "EX", window + 1, "NX"), ("INCR", key)])
        )

    def _read_unread(self) -> None:
        """The answers to the counts sent ahead, read: each budget's count as Redis has it,
        with the requests of other threads and servers."""
        while self.unread:
            self.connection.read_response()  # SET's
            count = self.connection.read_response()
            self.counts[self.unread.pop(0)] = count

    def _drop(self) -> None:
        if self.connection is not None:
            self.connection.disconnect()
        self.connection, self.unread, self.counts = None, [], {}


# The last tenth of a budget (at least one request) is counted waiting for Redis.
def _margin(limit: int) -> int:
    return max(1, limit // 10)


_KEYS_KEPT = 1000
_counted_ahead = _CountedAhead()


class ApiKeyRateThrottle(BaseThrottle):
    """One request budget per API key (agent or personal), keyed on the key's public prefix.

    Calls signed in by session are counted per user and anonymous calls per address. Rates
    come from ``settings.API_THROTTLE_RATES`` at request time, so they can be tuned by
    environment and overridden in tests. A fixed-window counter (one cache increment per
    request) rather than DRF's timestamp history, so the cost does not grow with the rate.
    """

    def allow_request(self, request, view) -> bool:
        scope, ident = self._scope_and_ident(request)
        rate = settings.API_THROTTLE_RATES.get(scope)
        if not rate:
            return True
        limit, window = SimpleRateThrottle.parse_rate(None, rate)
        now = time.time()
        window_start = int(now // window) * window
        count = throttle_count(f"throttle:{scope}:{ident}", window_start, window, limit=limit)
        self.retry_after = window_start + window - now
        return count <= limit

    def wait(self) -> float | None:
        return getattr(self, "retry_after", None)

    @staticmethod
    def _scope_and_ident(request) -> tuple[str, str]:
        prefix = getattr(request.auth, "prefix", None)
        if prefix:
            return "key", prefix
        user = request.user
        if user is not None and user.is_authenticated and getattr(user, "pk", None):
            return "user", str(user.pk)
        return "anon", client_ip(request) or "unknown"
