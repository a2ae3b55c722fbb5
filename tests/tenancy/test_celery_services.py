"""A real Celery worker consuming from the machine's Redis runs tenant tasks in the right schema.

Run by `make test-services` (DATABASE_URL and REDIS_URL point at the machine's servers).
"""

import time
from datetime import timedelta

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.db import connection
from django_tenants.utils import schema_context

from apps.crm.models import Account
from apps.tenancy.models import Organization
from apps.tenancy.periodic import _registry, periodic_job
from apps.tenancy.tasks import run_periodic_job
from learning_site.celery import app

pytestmark = pytest.mark.services


def _probe() -> str:
    """Test job: leaves an account named after the schema it ran in."""
    Account.objects.get_or_create(
        external_id="celery-probe", defaults={"name": connection.schema_name}
    )
    return "ok"


@pytest.fixture(autouse=True)
def _probe_registered():
    """The probe is a job only while these tests run: registered at import, it would run
    wherever every job runs (seed_demo runs them all once) in the same test process."""
    periodic_job("test_celery_probe", every=timedelta(minutes=5))(_probe)
    yield
    _registry.pop("test_celery_probe", None)


def _wait_for(predicate, seconds: float = 15.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def _probe_name(schema: str) -> str | None:
    with schema_context(schema):
        account = Account.objects.filter(external_id="celery-probe").first()
        return account.name if account else None


@pytest.fixture
def worker():
    assert settings.CELERY_BROKER_URL.startswith("redis://"), "set REDIS_URL for this test"
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10) as running:
        yield running


def test_a_task_sent_from_an_org_runs_in_that_orgs_schema(fresh_org, worker):
    run_periodic_job.delay("test_celery_probe")  # sent from inside fresh_org's schema

    assert _wait_for(lambda: _probe_name(fresh_org.schema_name) is not None)
    assert _probe_name(fresh_org.schema_name) == fresh_org.schema_name
    assert _probe_name("org_globex") is None


def test_beat_sends_a_periodic_job_to_every_organisation(fresh_org, worker, tmp_path):
    from learning_site.beat import TenantBeatScheduler

    scheduler = TenantBeatScheduler(app=app, schedule_filename=str(tmp_path / "beat-schedule"))
    scheduler.jitter_max = timedelta(0)  # no spreading: the test waits seconds, not minutes
    entry = next(
        e for name, e in scheduler.schedule.items() if name.startswith("test_celery_probe")
    )
    schemas = list(
        Organization.objects.exclude(schema_name="public").values_list("schema_name", flat=True)
    )
    try:
        with schema_context("public"):
            scheduler.apply_entry(entry)
        assert _wait_for(lambda: all(_probe_name(schema) == schema for schema in schemas))
    finally:
        for schema in schemas:
            with schema_context(schema):
                Account.objects.filter(external_id="celery-probe").delete()
