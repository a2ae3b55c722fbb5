"""Migrate schemas one at a time or in a pool of forked workers."""

from __future__ import annotations

import multiprocessing
import queue
import time

from django.core.management import call_command
from django.db import connections
from django_tenants.utils import get_public_schema_name
from tqdm import tqdm

from apps.tenancy.migration_safety.plan import SchemaResult, Target


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


def _migrate_worker(schema: str, rollback: Target | None, verbosity: int) -> tuple[str, str, float]:
    """Runs in a forked worker: migrate one schema and report instead of raising."""
    started = time.monotonic()
    error = ""
    try:
        schema_migrate(schema, rollback, verbosity)
    except BaseException as exc:  # noqa: BLE001 - SystemExit too; the parent reports it
        error = f"{type(exc).__name__}: {exc}".strip()
    finally:
        connections.close_all()
    return schema, error, time.monotonic() - started


def _migrate_all(
    results: list[SchemaResult],
    *,
    rollback: Target | None,
    parallel: int,
    verbosity: int,
    progress: tqdm,
) -> None:
    """Migrate each schema that has steps; stop starting new ones after a failure."""
    runs = [result for result in results if result.steps]
    by_schema = {result.schema: result for result in runs}
    public = [result for result in runs if result.schema == get_public_schema_name()]
    tenants = [result for result in runs if result.schema != get_public_schema_name()]

    def record(schema: str, error: str, seconds: float) -> None:
        result = by_schema[schema]
        result.error, result.seconds = error, seconds
        progress.set_postfix_str(schema)
        progress.update(1)

    # public first and alone: tenant schemas may depend on shared tables it creates
    waiting = public + tenants
    if parallel <= 1 or len(tenants) <= 1:
        while waiting:
            result = waiting.pop(0)
            record(*_migrate_worker(result.schema, rollback, verbosity))
            if result.error:
                break
    else:
        if public:
            result = waiting.pop(0)
            record(*_migrate_worker(result.schema, rollback, verbosity))
        if not any(result.error for result in public):
            _migrate_in_pool(waiting, rollback, parallel, verbosity, record)
    for result in waiting:
        result.error = "not attempted: an earlier schema failed"


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


def _migrate_in_pool(waiting, rollback, parallel, verbosity, record) -> None:
    # Forked workers inherit the app registry and settings (the test database too);
    # they must not share the parent's open socket, so close it before forking.
    connections.close_all()
    finished: queue.SimpleQueue = queue.SimpleQueue()
    context = multiprocessing.get_context("fork")
    in_flight = 0
    failed = False
    with context.Pool(
        processes=min(parallel, len(waiting)), initializer=_forget_inherited_connections
    ) as pool:
        while waiting or in_flight:
            while waiting and not failed and in_flight < parallel:
                result = waiting.pop(0)
                pool.apply_async(
                    _migrate_worker, (result.schema, rollback, verbosity), callback=finished.put
                )
                in_flight += 1
            if not in_flight:
                break
            schema, error, seconds = finished.get()
            in_flight -= 1
            record(schema, error, seconds)
            failed = failed or bool(error)
        pool.close()
        pool.join()
