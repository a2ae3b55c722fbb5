"""Periodic jobs through the machine's Redis: what beat puts on the queue, a real worker
dropping stale sends, and two real `celery beat` processes of which only one runs.

Run with REDIS_URL=redis://127.0.0.1:6379/<n> (`make test-services`).
"""

import json
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.db import connection
from django_tenants.utils import schema_context

from apps.tenancy.models import Organization, PeriodicJobRun
from apps.tenancy.periodic import _registry, periodic_job
from apps.tenancy.tasks import run_periodic_job
from learning_site.beat import BEAT_LOCK_KEY, JITTER_MAX
from learning_site.celery import app
from tests.database_url import database_url
from tests.tenancy.test_celery_services import _wait_for

pytestmark = pytest.mark.services

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def broker():
    assert settings.CELERY_BROKER_URL.startswith("redis://"), "set REDIS_URL for this test"
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    app.control.purge()
    yield client
    app.control.purge()


@pytest.fixture
def probe_runs():
    """A test job (registered for this test only) noting the schema of each run."""
    runs: list[str] = []
    periodic_job("test_periodic_probe", every=timedelta(hours=1))(
        lambda: runs.append(connection.schema_name) or "ok"
    )
    yield runs
    _registry.pop("test_periodic_probe", None)
    PeriodicJobRun.objects.filter(job="test_periodic_probe").delete()


def _queued(client: redis.Redis) -> list[dict]:
    return [json.loads(raw) for raw in client.lrange("celery", 0, -1)]


def test_beat_queues_each_organisation_delayed_and_expiring(
    fresh_org, broker, probe_runs, tmp_path
):
    from learning_site.beat import TenantBeatScheduler

    scheduler = TenantBeatScheduler(app=app, schedule_filename=str(tmp_path / "beat-schedule"))
    entry = next(
        e for name, e in scheduler.schedule.items() if name.startswith("test_periodic_probe")
    )
    schemas = set(
        Organization.objects.exclude(schema_name="public").values_list("schema_name", flat=True)
    )
    with schema_context("public"):
        scheduler.apply_entry(entry)

    messages = _queued(broker)
    assert {m["headers"]["_schema_name"] for m in messages} == schemas
    sent_at = time.time()
    for message in messages:
        headers = message["headers"]
        assert headers["task"] == "tenancy.run_periodic_job"
        eta = _epoch(headers["eta"])
        expires = _epoch(headers["expires"])
        assert sent_at - 60 < eta < sent_at + JITTER_MAX.total_seconds()
        assert eta < expires <= sent_at + 3600  # dropped once the next send is due
    assert len({m["headers"]["eta"] for m in messages}) == len(schemas)  # not all at once


def _epoch(iso: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(iso).timestamp()


def test_a_worker_drops_a_stale_send_and_runs_a_fresh_one(fresh_org, broker, probe_runs):
    run_periodic_job.apply_async(("test_periodic_probe",), expires=1)  # from fresh_org
    time.sleep(2)  # the worker was down: the send went stale in the queue
    run_periodic_job.apply_async(("test_periodic_probe",), expires=60)
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        deadline = time.monotonic() + 15
        while not probe_runs and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(1)
    assert probe_runs == [fresh_org.schema_name]
    assert broker.llen("celery") == 0


# --- one beat ----------------------------------------------------------------------------
def _beat(tmp_path: Path, name: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "REDIS_URL": settings.CELERY_BROKER_URL,
        "DATABASE_URL": database_url(),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "learning_site", "beat", "-l", "info",
         "-s", str(tmp_path / f"{name}-schedule")],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


def test_a_second_beat_exits_with_a_clear_error(broker, tmp_path):
    broker.delete(BEAT_LOCK_KEY)
    first = _beat(tmp_path, "first")
    try:
        assert _wait_for(lambda: broker.get(BEAT_LOCK_KEY) is not None, 30), "first beat holds"
        holder = broker.get(BEAT_LOCK_KEY).decode()
        assert f"pid {first.pid}" in holder
        assert 0 < broker.ttl(BEAT_LOCK_KEY) <= 90

        second = _beat(tmp_path, "second")
        output, _ = second.communicate(timeout=60)
        assert second.returncode != 0
        assert "Another celery beat is already running" in output
        assert f"pid {first.pid}" in output
        assert first.poll() is None  # the first one carries on
        assert broker.get(BEAT_LOCK_KEY).decode() == holder
    finally:
        first.send_signal(signal.SIGTERM)
        first.communicate(timeout=30)
    assert broker.get(BEAT_LOCK_KEY) is None  # released on a clean stop: the next may start
