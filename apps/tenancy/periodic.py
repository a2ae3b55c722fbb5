"""Registry of periodic jobs.

An app registers a job in its ``tasks.py``::

    @periodic_job("expire_outcomes", every=timedelta(hours=1))
    def expire_outcomes() -> str:
        return f"{outcomes_expire()} expired"

A job runs inside one organisation's schema and returns a short summary. Celery beat
sends ``tenancy.run_periodic_job`` once per organisation at the job's cadence; the
operator runs any job synchronously with ``manage.py run_periodic JOB [--org SLUG]``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from importlib import import_module
from importlib.util import find_spec

from django.apps import apps


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    every: timedelta
    func: Callable[[], object]
    description: str


_registry: dict[str, PeriodicJob] = {}


def periodic_job(name: str, *, every: timedelta) -> Callable:
    def register(func: Callable[[], object]) -> Callable[[], object]:
        doc = (func.__doc__ or "").strip().splitlines()
        _registry[name] = PeriodicJob(name, every, func, doc[0] if doc else "")
        return func

    return register


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
