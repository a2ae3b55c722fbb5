"""Where API budgets are counted: one store shared by every web process and server.

Without Redis it is the unlogged ``tenancy_throttlecounter`` table (one upsert a request);
with ``REDIS_URL`` a pipelined SET NX + INCR (tests/security/test_api_throttle.py runs on
it with ``REDIS_URL`` set). The tests' in-memory cache counts for the other API tests, so
their query counts do not include the throttle.
"""

from __future__ import annotations

import threading
import time

from django.db import connection

from apps.tenancy.services import schema_name_for
from learning_site.security import throttle_count, throttle_store
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
