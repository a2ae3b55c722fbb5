"""Periodic jobs at scale: the idle short-cut, the per-organisation lock, beat's jitter.

The lock is tested with two real executions on two PostgreSQL connections (threads); the
Celery worker and beat processes are in test_periodic_services.py.
"""

import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context

from apps.outcomes.models import OutcomeRecord
from apps.reviews.models import ReviewQueue
from apps.tenancy.models import Organization, PeriodicJobRun
from apps.tenancy.periodic import (
    SKIPPED_IDLE,
    SKIPPED_RUNNING,
    _registry,
    get_job,
    job_has_work,
    job_run,
    load_jobs,
    periodic_job,
)
from learning_site.beat import JITTER_MAX, send_delay, send_options
from tests.factories.approvals import PendingActionFactory
from tests.factories.crm import DealFactory, InteractionFactory
from tests.factories.feedback import LearningFactory
from tests.factories.goals import GoalFactory
from tests.factories.insights import InsightFactory
from tests.factories.outcomes import OutcomeFactory


def _past_window() -> OutcomeRecord:
    now = timezone.now()
    return OutcomeFactory(
        occurred_at=now - timedelta(days=3), window_ends_at=now - timedelta(days=1)
    )


# What gives each job something to do: a row arriving, or (for the jobs the clock moves)
# work coming due. Every registered job must be listed (test below).
WAKES = {
    "resolve_immediate_signals": lambda: InteractionFactory(channel="email", direction="inbound"),
    "resolve_engagement": lambda: InteractionFactory(channel="meeting"),
    "resolve_deal_progression": lambda: DealFactory(),
    "expire_outcomes": _past_window,
    "recalibrate": lambda: OutcomeFactory(),
    "extract_learnings": lambda: LearningFactory(),
    "detect_patterns": lambda: DealFactory(),
    "daily_digest": lambda: InsightFactory(),
    "deliver_alerts": lambda: InsightFactory(),
    "expire_approvals": lambda: PendingActionFactory(
        expires_at=timezone.now() - timedelta(minutes=1)
    ),
    "notify_approvers": lambda: PendingActionFactory(),
    "update_goal_progress": lambda: GoalFactory(),
    "refresh_analytics": lambda: OutcomeFactory(),
    "fill_review_queues": lambda: ReviewQueue.objects.create(name="Every output"),
}


def test_every_job_declares_an_idle_check():
    jobs = load_jobs()
    assert sorted(WAKES) == sorted(jobs)
    assert [name for name, job in jobs.items() if job.has_work is None] == []


@pytest.mark.parametrize("name", sorted(WAKES))
def test_an_idle_organisation_costs_one_query_per_job(org, name, django_assert_max_num_queries):
    job = get_job(name)
    connection.cursor().close()  # the schema is set once per task, before the job runs
    with django_assert_max_num_queries(1):
        assert job_run(job) == SKIPPED_IDLE
    assert not PeriodicJobRun.objects.filter(job=name).exists()


@pytest.mark.parametrize("name", sorted(WAKES))
def test_an_organisation_with_something_new_is_not_idle(org, name):
    WAKES[name]()
    assert job_has_work(get_job(name), org.schema_name)


def test_idle_is_per_organisation(org, other_org, in_org):
    with in_org(other_org):
        _past_window()
    connection.set_tenant(org)
    assert job_run(get_job("expire_outcomes")) == SKIPPED_IDLE
    with in_org(other_org):
        assert job_run(get_job("expire_outcomes")) == "1 expired"


def test_a_signal_arriving_after_the_last_run_wakes_the_resolver(org):
    job = get_job("resolve_immediate_signals")
    sent = OutcomeFactory(occurred_at=timezone.now() - timedelta(hours=2))
    # It arrived an hour ago (longer ago than the margin a run looks back past its start).
    OutcomeRecord.objects.filter(pk=sent.pk).update(created_at=timezone.now() - timedelta(hours=1))
    assert job_run(job) == "0 resolved"  # nothing answers it yet
    assert job_run(job) == SKIPPED_IDLE  # nothing new since that run
    reply = InteractionFactory(account=sent.account, channel="email", direction="inbound")
    assert job_run(job) == "1 resolved"
    sent.refresh_from_db()
    assert (sent.status, sent.resolving_interaction_id) == ("resolved", reply.pk)


def test_expiry_runs_when_the_clock_closes_a_window_with_nothing_new(org):
    job = get_job("expire_outcomes")
    now = timezone.now()
    record = OutcomeFactory(
        occurred_at=now - timedelta(hours=1), window_ends_at=now + timedelta(hours=2)
    )
    assert job_run(job) == SKIPPED_IDLE  # pending, but its window is open
    assert job_has_work(job, org.schema_name, now=now + timedelta(hours=3))  # no new row

    OutcomeRecord.objects.filter(pk=record.pk).update(window_ends_at=now - timedelta(minutes=1))
    assert job_run(job) == "1 expired"
    record.refresh_from_db()
    assert record.status == "expired"
    assert job_run(job) == SKIPPED_IDLE


def test_the_operator_command_runs_even_an_idle_organisation(org, capsys):
    from django.core.management import call_command

    call_command("run_periodic", "expire_outcomes", "--org", org.slug)
    assert f"{org.slug}: expire_outcomes: 0 expired" in capsys.readouterr().out
    call_command("run_periodic", "expire_outcomes", "--org", org.slug, "--skip-idle")
    assert f"{org.slug}: expire_outcomes: {SKIPPED_IDLE}" in capsys.readouterr().out


# --- the lock ----------------------------------------------------------------------------
@pytest.fixture
def slow_job():
    """A test job (registered for this test only: seed_demo runs every registered job) that
    notes the schema of each run; the first run waits inside until released."""
    runs, started, release = [], threading.Event(), threading.Event()

    def slow() -> str:
        runs.append(connection.schema_name)
        if len(runs) == 1:
            started.set()
            release.wait(15)
        return "done"

    periodic_job("test_slow_job", every=timedelta(minutes=5))(slow)
    yield get_job("test_slow_job"), runs, started, release
    release.set()
    _registry.pop("test_slow_job", None)
    PeriodicJobRun.objects.filter(job="test_slow_job").delete()


def test_a_job_never_runs_twice_at_once_in_one_organisation(fresh_org, slow_job):
    job, runs, started, release = slow_job
    other = Organization.objects.exclude(schema_name__in=["public", fresh_org.schema_name]).first()
    results = {}

    def first_run():
        try:
            with schema_context(fresh_org.schema_name):
                results["first"] = job_run(job)
        finally:
            connection.close()

    worker = threading.Thread(target=first_run)
    worker.start()
    assert started.wait(10), "the first run did not start"

    began = time.monotonic()
    assert job_run(job) == SKIPPED_RUNNING  # this thread: its own connection
    assert time.monotonic() - began < 1.0  # at once, not when the first run ends
    assert runs == [fresh_org.schema_name]  # without doing the work
    with schema_context(other.schema_name):  # another organisation is not held up
        assert job_run(job) == "done"

    release.set()
    worker.join(15)
    assert results == {"first": "done"}
    assert job_run(job) == "done"  # the lock went with the first run
    assert runs == [fresh_org.schema_name, other.schema_name, fresh_org.schema_name]


# --- beat's fan-out ----------------------------------------------------------------------
def test_beat_spreads_organisations_over_the_window_and_expires_each_send():
    schemas = [f"org_{n}" for n in range(1000)]
    every = timedelta(hours=1)
    sends = [send_options(schema, "expire_outcomes", every) for schema in schemas]

    delays = [send["countdown"] for send in sends]
    window = JITTER_MAX.total_seconds()
    assert all(0 <= delay < window for delay in delays)
    per_second = Counter(int(delay) for delay in delays)
    assert max(per_second.values()) <= 12  # 1,000 over 300 s: about 3 a second, never a burst
    assert len(per_second) > 250  # and nearly every second of the window is used
    assert all(send["expires"] == every.total_seconds() for send in sends)
    # Stable: the same organisation is sent at the same offset each period.
    assert delays == [send_delay(schema, "expire_outcomes", every) for schema in schemas]
    # Different jobs of one organisation do not start together either.
    assert send_delay("org_1", "expire_outcomes", every) != send_delay(
        "org_1", "recalibrate", every
    )


def test_a_short_job_is_delayed_by_at_most_half_its_period():
    every = timedelta(minutes=5)
    delays = [send_delay(f"org_{n}", "deliver_alerts", every) for n in range(1000)]
    assert max(delays) < every.total_seconds() / 2 < every.total_seconds()
    assert min(delays) < 10 and max(delays) > 140


def test_without_redis_a_second_beat_on_the_host_is_refused(tmp_path):
    from learning_site.beat import BeatAlreadyRunning, BeatLock

    schedule = str(tmp_path / "celerybeat-schedule")
    first, second = BeatLock("filesystem://", schedule), BeatLock("filesystem://", schedule)
    first.hold()
    with pytest.raises(BeatAlreadyRunning, match="Another celery beat is already running"):
        second.hold()
    first.release()
    second.hold()  # the lock went with the first beat
    second.release()


def test_two_jobs_of_one_name_are_refused_not_one_lost():
    """Jobs are named after their function: another app's function of the same name
    would have replaced a job without a word."""
    load_jobs()
    name, taken = next(iter(_registry.items()))

    def expire_outcomes():  # any function but the registered one
        """Stands in for another app's job."""

    with pytest.raises(ImproperlyConfigured, match=name):
        periodic_job(name, every=timedelta(minutes=5))(expire_outcomes)
    assert _registry[name] is taken
    try:  # the same function again (a module imported twice): allowed
        periodic_job(name, every=taken.every, has_work=taken.has_work)(taken.func)
    finally:
        _registry[name] = taken
