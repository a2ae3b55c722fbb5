"""Registry of periodic jobs, and how one runs in one organisation.

An app registers a job in its ``tasks.py``::

    @periodic_job(
        every=timedelta(hours=1),
        has_work=lambda since, now: Exists(
            OutcomeRecord.objects.filter(status="pending", window_ends_at__lte=now)
        ),
    )
    def expire_outcomes() -> str:
        return f"{outcomes_expire()} expired"

The job is named after its function (``expire_outcomes``) and described by the first line
of its docstring.

A job runs inside one organisation's schema and returns a short summary. Celery beat
sends ``tenancy.run_periodic_job`` once per organisation at the job's cadence (with a
stable per-organisation delay, see learning_site.beat); the operator runs any job
synchronously with ``manage.py run_periodic JOB [--org SLUG]``.

Each run (``job_run``):

1. **Idle check** — one query. ``has_work(since, now)`` returns a boolean expression
   (``Exists(...)``, or several joined with ``|``) that is true when the job may have
   something to do: rows that arrived since ``since`` (the start of the job's last
   successful run in this organisation, minus ``SINCE_MARGIN``; the epoch before the first
   run) or, for jobs moved by the clock rather than by new rows, work that has come due
   by ``now`` (a pending outcome whose window has closed). False: the run returns
   ``skipped: idle`` having cost that one query. A job without ``has_work`` always runs.
2. **Lock** — ``pg_try_advisory_lock`` on the job and schema (session level, on the
   connection that runs the job, released in ``finally``; PostgreSQL drops it if the
   worker dies): a second run while one holds it returns ``skipped: running`` at once.
3. The job, then its ``PeriodicJobRun`` row (public schema) moves to this run's start.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import import_module
from importlib.util import find_spec

from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.db.models import (
    BooleanField,
    DateTimeField,
    Exists,
    Expression,
    ExpressionWrapper,
    Model,
    Q,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

# Rows a transaction stamped just before a run started but committed after the run read
# them are still "new" for the next run: the idle check looks back this much further.
SINCE_MARGIN = timedelta(minutes=5)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

HasWork = Callable[[Expression, datetime], Expression | Q]


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    every: timedelta
    func: Callable[[], object]
    description: str
    has_work: HasWork | None = None


_registry: dict[str, PeriodicJob] = {}


def periodic_job(name: str = "", *, every: timedelta, has_work: HasWork | None = None) -> Callable:
    """Register the decorated function as a job, named after it unless ``name`` is given."""

    def register(func: Callable[[], object]) -> Callable[[], object]:
        doc = (func.__doc__ or "").strip().splitlines()
        job = PeriodicJob(name or func.__name__, every, func, doc[0] if doc else "", has_work)
        taken = _registry.get(job.name)
        if taken is not None and _origin(taken.func) != _origin(func):
            raise ImproperlyConfigured(
                f"Two periodic jobs are named {job.name!r}: {_origin(taken.func)} and "
                f"{_origin(func)}. Name one of them (periodic_job(name=...))."
            )
        _registry[job.name] = job
        return func

    return register


def _origin(func: Callable) -> str:
    return f"{func.__module__}.{func.__qualname__}"


def load_jobs() -> dict[str, PeriodicJob]:
    """Import every app's ``tasks`` module so that its jobs are registered."""
    for config in apps.get_app_configs():
        module = f"{config.name}.tasks"
        if config.name.startswith("apps.") and find_spec(module) is not None:
            import_module(module)
    return dict(sorted(_registry.items()))


def get_job(name: str) -> PeriodicJob:
    jobs = load_jobs()
    if name not in jobs:
        known = ", ".join(jobs) or "none registered"
        raise KeyError(f"Unknown job '{name}'. Known jobs: {known}")
    return jobs[name]


def beat_schedule() -> dict[str, dict]:
    """Celery beat entries: every job, fanned out to all tenants by the scheduler."""
    return {
        job.name: {
            "task": "tenancy.run_periodic_job",
            "schedule": job.every.total_seconds(),
            "args": (job.name,),
        }
        for job in load_jobs().values()
    }


# --- idle checks -------------------------------------------------------------------------
def arrived_since(model: type[Model], since: Expression, *fields: str, **filters) -> Q:
    """True when a row of ``model`` (matching ``filters``) has any of ``fields`` (default
    ``created_at``) at or after ``since``: the usual "anything new" part of ``has_work``."""
    rows = model._default_manager.filter(**filters)
    return Q(*(Exists(rows.filter(**{f"{f}__gte": since})) for f in fields or ("created_at",)))


def any_row(model: type[Model], **filters) -> Exists:
    """True when ``model`` has a row matching ``filters`` (work the clock can bring due)."""
    return Exists(model._default_manager.filter(**filters))


def ran_since(job_names: list[str], since: Expression) -> Exists:
    """True when one of ``job_names`` finished a (non-idle) run in this organisation since
    ``since``: for jobs that read what those jobs change without leaving a timestamp."""
    from apps.tenancy.models import PeriodicJobRun

    return Exists(
        PeriodicJobRun.objects.filter(
            schema_name=connection.schema_name, job__in=job_names, finished_at__gte=since
        )
    )


def _since(job: PeriodicJob, schema: str) -> Expression:
    from apps.tenancy.models import PeriodicJobRun

    last = PeriodicJobRun.objects.filter(schema_name=schema, job=job.name).values("started_at")
    return ExpressionWrapper(
        Coalesce(Subquery(last[:1]), Value(EPOCH)) - Value(SINCE_MARGIN),
        output_field=DateTimeField(),
    )


def job_has_work(job: PeriodicJob, schema: str, now: datetime | None = None) -> bool:
    """The idle check: one query (run in ``schema``)."""
    if job.has_work is None:
        return True
    from apps.tenancy.models import Organization

    check = ExpressionWrapper(
        Q(job.has_work(_since(job, schema), now or timezone.now())), output_field=BooleanField()
    )
    found = (
        Organization.objects.filter(schema_name=schema)
        .order_by()
        .annotate(work=check)
        .values_list("work", flat=True)[:1]
    )
    return next(iter(found), True)


# --- running -----------------------------------------------------------------------------
def _lock_key(job_name: str, schema: str) -> int:
    digest = hashlib.blake2b(f"periodic:{schema}:{job_name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


@contextmanager
def job_lock(job_name: str, schema: str) -> Iterator[bool]:
    """Hold the (job, schema) advisory lock for the block; yields False if another holds it.

    Session level on Django's connection, the one the job's queries run on; released in
    ``finally``, and by PostgreSQL if the process dies.
    """
    key = _lock_key(job_name, schema)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
        acquired = cursor.fetchone()[0]
    try:
        yield acquired
    finally:
        if acquired:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [key])


SKIPPED_IDLE = "skipped: idle"
SKIPPED_RUNNING = "skipped: running"


def job_run(job: PeriodicJob, *, force: bool = False) -> str:
    """Run ``job`` in the connection's current schema: idle check (unless ``force``),
    lock, the job, then record the run. Returns the job's summary or why it was skipped."""
    from apps.tenancy.models import PeriodicJobRun

    schema = connection.schema_name
    started = timezone.now()
    if not force and not job_has_work(job, schema, started):
        return SKIPPED_IDLE
    with job_lock(job.name, schema) as acquired:
        if not acquired:
            return SKIPPED_RUNNING
        result = str(job.func())
        PeriodicJobRun.objects.bulk_create(
            [
                PeriodicJobRun(
                    schema_name=schema,
                    job=job.name,
                    started_at=started,
                    finished_at=timezone.now(),
                    result=result[:500],
                )
            ],
            update_conflicts=True,
            unique_fields=["schema_name", "job"],
            update_fields=["started_at", "finished_at", "result"],
        )
    return result
