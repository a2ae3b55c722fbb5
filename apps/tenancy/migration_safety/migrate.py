"""Back up and migrate schemas one at a time or in a pool of N forked workers.

Each schema goes through its own pipeline (dump, count rows, migrate) in one worker, so a
run over many organisations keeps N of them moving at once and holds no more than N
schemas' work in memory. Every step is written to the run's journal as it ends.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from django.core.management import call_command
from django.db import connections
from django_tenants.utils import get_public_schema_name
from tqdm import tqdm

from apps.tenancy.migration_safety.backup import schema_backup
from apps.tenancy.migration_safety.journal import RunJournal
from apps.tenancy.migration_safety.plan import SchemaResult, Target
from apps.tenancy.migration_safety.stats import table_row_counts

# A worker is replaced after this many schemas, so that whatever migrate_schemas leaves
# behind in a process (loaded migrations, caches) cannot pile up over 1,000 schemas.
SCHEMAS_PER_WORKER = 50


def schema_migrate(schema: str, rollback: Target | None = None, verbosity: int = 0) -> None:
    """Run django-tenants' migrate_schemas for one schema (to ``rollback`` if given)."""
    arguments = [rollback[0], rollback[1] or "zero"] if rollback else []
    call_command(
        "migrate_schemas",
        *arguments,
        schema_name=schema,
        executor="standard",
        interactive=False,
        verbosity=verbosity,
    )


@dataclass(frozen=True)
class SchemaJob:
    """What a worker does to one schema: back it up (unless a backup is reused), migrate."""

    schema: str
    back_up: bool  # its tables change: dump it and count its rows first
    backup: Path | None  # a backup this run already took (a resumed run)
    rollback: Target | None
    verbosity: int
    journal: Path


@dataclass
class SchemaOutcome:
    schema: str
    backup: Path | None = None
    rows_before: dict[str, int] = field(default_factory=dict)
    backup_seconds: float = 0.0
    seconds: float = 0.0
    error: str = ""


def _schema_worker(job: SchemaJob) -> SchemaOutcome:
    """Runs in a worker (or the command itself): one schema's pipeline; reports, never raises."""
    journal = RunJournal(job.journal)
    outcome = SchemaOutcome(job.schema, backup=job.backup)
    try:
        if job.back_up:
            if outcome.backup is None:
                started = time.monotonic()
                outcome.backup = schema_backup(job.schema, job.journal)
                outcome.backup_seconds = time.monotonic() - started
                journal.record(
                    job.schema,
                    "backed-up",
                    backup=str(outcome.backup),
                    seconds=round(outcome.backup_seconds, 3),
                )
            outcome.rows_before = table_row_counts(job.schema)
        journal.record(job.schema, "migrating", rows_before=outcome.rows_before)
        started = time.monotonic()
        schema_migrate(job.schema, job.rollback, job.verbosity)
        outcome.seconds = time.monotonic() - started
        journal.record(job.schema, "migrated", seconds=round(outcome.seconds, 3))
    except BaseException as exc:  # noqa: BLE001 - SystemExit too; the parent reports it
        outcome.error = f"{type(exc).__name__}: {exc}".strip()
        journal.record(job.schema, "failed", error=outcome.error)
    finally:
        connections.close_all()
    return outcome


def _migrate_all(
    results: list[SchemaResult],
    jobs: dict[str, SchemaJob],
    *,
    parallel: int,
    progress: tqdm,
) -> None:
    """Run the job of each schema that has one; stop starting new ones after a failure."""
    runs = [result for result in results if result.schema in jobs]
    by_schema = {result.schema: result for result in runs}
    public = [result for result in runs if result.schema == get_public_schema_name()]
    tenants = [result for result in runs if result.schema != get_public_schema_name()]

    attempted: set[str] = set()

    def record(outcome: SchemaOutcome) -> None:
        attempted.add(outcome.schema)
        result = by_schema[outcome.schema]
        result.error, result.seconds = outcome.error, outcome.seconds
        result.backup, result.rows_before = outcome.backup, outcome.rows_before
        result.backup_seconds = outcome.backup_seconds
        progress.set_postfix_str(outcome.schema)
        progress.update(1)

    # public first and alone: tenant schemas may depend on shared tables it creates
    if parallel <= 1 or len(tenants) <= 1:
        for result in public + tenants:
            record(_schema_worker(jobs[result.schema]))
            if result.error:
                break
    else:
        for result in public:
            record(_schema_worker(jobs[result.schema]))
        if not any(result.error for result in public):
            _migrate_in_pool([jobs[result.schema] for result in tenants], parallel, record)
    for result in runs:
        if result.schema not in attempted:
            result.error = "not attempted: an earlier schema failed"


def _worker_start(command: int) -> None:
    """In a forked worker: die with the command, and open connections of its own.

    A command killed with SIGKILL must take its workers with it, so that no orphan goes on
    migrating a schema that the resumed run then migrates too. Not PR_SET_PDEATHSIG: it
    fires when the *thread* that forked the worker ends, and the pool forks replacement
    workers from a thread of its own that ends at close(), killing an idle worker that may
    hold the task queue's lock (the other workers then wait for it forever).
    """
    threading.Thread(target=_exit_with, args=(command,), daemon=True).start()
    _forget_inherited_connections()


def _exit_with(command: int) -> None:
    while os.getppid() == command:
        time.sleep(0.5)
    os.kill(os.getpid(), signal.SIGKILL)


def _forget_inherited_connections() -> None:
    """In a forked worker: drop the parent's connection objects without closing them.

    ``close_all()`` in the parent does not close a connection inside an atomic block, and a
    socket shared by two processes corrupts both sessions. psycopg never sends a Terminate
    from a process other than the one that opened the connection, so dropping the objects
    leaves the parent's sessions intact while each worker opens its own.
    """
    for conn in connections.all(initialized_only=True):
        conn.connection = None
        conn.in_atomic_block = False
        conn.savepoint_ids = []
        conn.atomic_blocks = []
        conn.needs_rollback = False
        conn.closed_in_transaction = False


def _migrate_in_pool(waiting: list[SchemaJob], parallel: int, record) -> None:
    # Forked workers inherit the app registry and settings (the test database too);
    # they must not share the parent's open socket, so close it before forking.
    connections.close_all()
    finished: queue.SimpleQueue = queue.SimpleQueue()
    context = multiprocessing.get_context("fork")
    in_flight = 0
    failed = False
    with context.Pool(
        processes=min(parallel, len(waiting)),
        initializer=_worker_start,
        initargs=(os.getpid(),),
        maxtasksperchild=SCHEMAS_PER_WORKER,
    ) as pool:
        while waiting or in_flight:
            while waiting and not failed and in_flight < parallel:
                pool.apply_async(_schema_worker, (waiting.pop(0),), callback=finished.put)
                in_flight += 1
            if not in_flight:
                break
            outcome = finished.get()
            in_flight -= 1
            record(outcome)
            failed = failed or bool(outcome.error)
        pool.close()
        pool.join()
