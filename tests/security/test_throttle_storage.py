"""Where API budgets are counted: one store shared by every web process and server.

Without Redis it is the unlogged ``tenancy_throttlecounter`` table (one upsert a request);
with ``REDIS_URL`` a pipelined SET NX + INCR (tests/security/test_api_throttle.py runs on
it with ``REDIS_URL`` set). The tests' in-memory cache counts for the other API tests, so
their query counts do not include the throttle.
"""

from __future__ import annotations

import threading
import time
import uuid

import pytest
from django.core.cache import cache
from django.db import connection

from apps.tenancy.services import schema_name_for
from learning_site.security import _counted_ahead, throttle_count, throttle_store
from tests.conftest import OTHER_SLUG


def _window() -> int:
    return int(time.time() // 60) * 60


def test_two_workers_count_one_budget_together(fresh_org):
    """Two threads with a connection each, as two web workers: no request is lost or
    counted twice."""
    window, seen, errors = _window(), [], []

    def worker():
        try:
            connection.set_tenant(fresh_org)
            for _ in range(20):
                seen.append(throttle_count("throttle:key:shared", window, 60, "database"))
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(seen) == list(range(1, 41))


def test_a_new_window_starts_the_budget_afresh(fresh_org):
    window = _window()
    for expected in (1, 2, 3):
        assert throttle_count("throttle:key:afresh", window, 60, "database") == expected
    assert throttle_count("throttle:key:afresh", window + 60, 60, "database") == 1


def test_each_organisation_counts_its_own_budget(fresh_org):
    window = _window()
    assert throttle_count("throttle:user:7", window, 60, "database") == 1
    assert throttle_count("throttle:user:7", window, 60, "database") == 2
    connection.set_schema(schema_name_for(OTHER_SLUG))
    assert throttle_count("throttle:user:7", window, 60, "database") == 1


def test_a_deployment_without_redis_counts_in_the_database(settings, tmp_path):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(tmp_path),
        }
    }
    assert throttle_store() == "database"


def test_the_tests_count_in_memory_and_redis_when_configured(settings):
    assert throttle_store() == ("redis" if settings.REDIS_URL else "cache")


# --- counted ahead, on Redis ---------------------------------------------------------------


def _redis_key(budget: str, window: int) -> tuple:
    key = cache.make_and_validate_key(f"{budget}:{window}")
    return cache._cache.get_client(key, write=True), key


@pytest.mark.services
def test_counts_far_below_the_limit_go_ahead_and_all_reach_redis(fresh_org):
    window, budget = _window(), f"throttle:key:ahead-{uuid.uuid4().hex}"
    counts = [throttle_count(budget, window, 60, "redis", limit=100) for _ in range(30)]
    assert counts == list(range(1, 31))
    assert _counted_ahead.unread  # the last counts were sent without waiting
    # Counted waiting for Redis (no limit): Redis has every one of the thirty.
    assert throttle_count(budget, window, 60, "redis") == 31


@pytest.mark.services
def test_a_budget_used_up_elsewhere_lets_one_request_more_through_at_most(fresh_org):
    """Another server's requests are not seen by a count sent ahead, but by the next."""
    window, budget, limit = _window(), f"throttle:key:elsewhere-{uuid.uuid4().hex}", 20
    for _ in range(5):
        assert throttle_count(budget, window, 60, "redis", limit=limit) <= limit
    client, key = _redis_key(budget, window)
    client.incrby(key, limit)  # another server's twenty requests

    allowed = [throttle_count(budget, window, 60, "redis", limit=limit) <= limit for _ in range(4)]

    assert allowed == [True, False, False, False]
    assert int(client.get(key)) == 5 + limit + 4


@pytest.mark.services
def test_near_the_limit_every_count_waits_for_redis(fresh_org):
    window, budget, limit = _window(), f"throttle:key:near-{uuid.uuid4().hex}", 10
    counts = [throttle_count(budget, window, 60, "redis", limit=limit) for _ in range(12)]
    assert counts == list(range(1, 13))
    assert [count <= limit for count in counts] == [True] * 10 + [False] * 2
    assert not _counted_ahead.unread  # the last tenth and beyond: each one waited for


@pytest.mark.services
def test_a_connection_redis_closed_is_opened_again(fresh_org):
    window, budget = _window(), f"throttle:key:closed-{uuid.uuid4().hex}"
    for _ in range(3):
        throttle_count(budget, window, 60, "redis", limit=100)
    client, key = _redis_key(budget, window)
    host, port = _counted_ahead.connection._sock.getsockname()[:2]
    client.client_kill(f"{host}:{port}")  # an idle timeout, a restart

    later = [throttle_count(budget, window, 60, "redis", limit=100) for _ in range(3)]

    assert all(count >= 1 for count in later)
    assert throttle_count(budget, window, 60, "redis") == int(client.get(key)) >= 4


@pytest.mark.services
def test_counted_ahead_each_organisation_counts_its_own_budget(fresh_org):
    """The same budget name in two organisations: two Redis keys (the schema is in the key),
    counted ahead or not, one never spending the other's."""
    window, budget = _window(), f"throttle:key:same-{uuid.uuid4().hex}"
    ours = [throttle_count(budget, window, 60, "redis", limit=100) for _ in range(5)]
    connection.set_schema(schema_name_for(OTHER_SLUG))
    theirs = [throttle_count(budget, window, 60, "redis", limit=100) for _ in range(2)]
    assert throttle_count(budget, window, 60, "redis") == 3  # waiting: theirs alone
    connection.set_tenant(fresh_org)
    assert ours == [1, 2, 3, 4, 5] and theirs == [1, 2]
    assert throttle_count(budget, window, 60, "redis") == 6
