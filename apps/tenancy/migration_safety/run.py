"""The whole run: plan, check, and back up + migrate + verify."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from django.db import connection
from tqdm import tqdm

from apps.tenancy.migration_safety.backup import backup_root, default_backup_dir
from apps.tenancy.migration_safety.disk import disk_space_check, schemas_size_bytes
from apps.tenancy.migration_safety.journal import RunJournal, SchemaProgress, unfinished_run
from apps.tenancy.migration_safety.lock import (
    RUN_APPLICATION_NAME,
    database_check,
    invalid_indexes_drop,
    migration_lock,
    orphans_terminate,
)
from apps.tenancy.migration_safety.migrate import SchemaJob, _migrate_all
from apps.tenancy.migration_safety.plan import (
    MigrationRun,
    MigrationSafetyError,
    Target,
    migration_targets,
    plans_for,
    schemas_in_scope,
)
from apps.tenancy.migration_safety.verify import schemas_verify


def migration_plan(
    *, org_slugs: list[str] | None = None, rollback: tuple[str, str] | None = None
) -> MigrationRun:
    """What a run would do, per schema. Changes nothing."""
    database_check()
    targets = migration_targets(rollback)
    return MigrationRun(targets, plans_for(schemas_in_scope(org_slugs), targets))


def migration_check(*, org_slugs: list[str] | None = None) -> MigrationRun:
    """Verify only: is every schema in scope at the latest migration?"""
    run = migration_plan(org_slugs=org_slugs)
    for result in run.results:
        result.steps = []
    schemas_verify(run.results, run.targets)
    return run


def migrations_run(
    *,
    org_slugs: list[str] | None = None,
    rollback: tuple[str, str] | None = None,
    backup_dir: Path | None = None,
    resume: bool = False,
    parallel: int = 1,
    verbosity: int = 0,
    progress_file: TextIO | None = None,
    progress: bool = True,
) -> MigrationRun:
    """Back up, migrate (or roll back) and verify every schema in scope.

    A run interrupted before it finished (killed, the machine rebooted) is carried on: with
    ``resume``, or when ``backup_dir`` (or, without one, the latest run under the default
    backup directory) holds its journal and the same targets and scope. Schemas it
    migrated are not migrated again and the backups it took are reused.

    Raises MigrationSafetyError when a precondition fails (nothing has changed then);
    a failure while migrating is reported in the returned run, with its backups.
    """
    if parallel < 1:
        raise MigrationSafetyError("--parallel must be at least 1.")
    database_check()
    with migration_lock():
        # Holding the lock, no live run owns a session named after a run: those found are
        # what a killed run left (a pg_dump, a statement waiting for a lock). End them
        # before they collide with this run.
        orphans_terminate()
        targets = migration_targets(rollback)
        run = MigrationRun(targets, plans_for(schemas_in_scope(org_slugs), targets))
        journal = _journal_to_resume(backup_dir, targets, org_slugs, resume=resume)
        previous = journal.progress() if journal else {}
        if journal:
            _carry_on(run, journal, previous)
        affected = [result for result in run.results if result.changes]
        started = time.monotonic()
        if journal or any(result.steps for result in run.results):
            if journal is None:
                journal = RunJournal.start(
                    backup_dir or default_backup_dir(), targets=targets, scope=org_slugs
                )
            run.backup_dir, run.run_id = journal.directory, journal.run_id
            to_dump = [r.schema for r in affected if not _reusable_backup(previous, r.schema)]
            disk_space_check(run.backup_dir, schemas_size_bytes(to_dump))
        jobs = {
            result.schema: SchemaJob(
                schema=result.schema,
                back_up=bool(result.changes),
                backup=_reusable_backup(previous, result.schema),
                rollback=targets[0] if rollback else None,
                verbosity=verbosity,
                journal=run.backup_dir,
            )
            for result in run.results
            if result.steps
        }
        with _run_sessions_named(run.run_id):
            with _bar(
                len(jobs), "rollback" if rollback else "migrate", progress_file, progress
            ) as bar:
                _migrate_all(run.results, jobs, parallel=parallel, progress=bar)
        run.seconds["backup + migrate"] = time.monotonic() - started
        connection.set_schema_to_public()
        schemas_verify(run.results, targets, rollback=rollback is not None)
        run.seconds["verify"] = time.monotonic() - started - sum(run.seconds.values())
        if journal:
            journal.record("", "finished", ok=run.ok)
        return run


def _journal_to_resume(
    backup_dir: Path | None, targets: list[Target], scope: list[str] | None, *, resume: bool
) -> RunJournal | None:
    """The interrupted run this one carries on, if any; refuses a directory it cannot use."""
    if backup_dir is not None:
        journal = RunJournal(backup_dir)
        if not journal.exists:
            if resume:
                raise MigrationSafetyError(f"No safe_migrate run to resume in {backup_dir}.")
            return None
        if journal.finished:
            raise MigrationSafetyError(
                f"{backup_dir} holds the backups of a run that finished; pass a new "
                "--backup-dir (or none) so that they are kept."
            )
    else:
        journal = unfinished_run(backup_root())
        if journal is None:
            if resume:
                raise MigrationSafetyError(
                    f"No interrupted safe_migrate run to resume under {backup_root()}."
                )
            return None
    if not journal.matches(targets=targets, scope=scope):
        if backup_dir is None and not resume:
            return None  # an older run to other migrations: leave it be, start afresh
        raise MigrationSafetyError(
            f"The interrupted run in {journal.directory} migrated to other targets or other "
            "organisations; run it again with the same release and --org options, or pass "
            "a new --backup-dir."
        )
    return journal


def _reusable_backup(previous: dict[str, SchemaProgress], schema: str) -> Path | None:
    """The interrupted run's dump of a schema it had not finished migrating."""
    progress = previous.get(schema)
    if progress and progress.phase != "migrated" and progress.backup and progress.backup.exists():
        return progress.backup
    return None


def _carry_on(run: MigrationRun, journal: RunJournal, previous: dict[str, SchemaProgress]) -> None:
    """Fold the interrupted run's journal into this one and say what is carried on."""
    done = reused = 0
    for result in run.results:
        progress = previous.get(result.schema)
        if progress is None:
            continue
        if progress.phase == "migrated" and not result.steps:
            done += 1
            result.backup, result.rows_before = progress.backup, progress.rows_before
            result.notes.append(f"migrated by the interrupted run {journal.run_id}")
        elif _reusable_backup(previous, result.schema):
            reused += 1
        if progress.phase == "migrating" and result.steps:
            for index in invalid_indexes_drop(result.schema):
                result.notes.append(f"dropped {index}, left invalid by the interrupted run")
    run.resumed.append(
        f"Resuming run {journal.run_id} from {journal.directory}: {done} schema(s) it "
        f"migrated are not migrated again, {reused} backup(s) it took are reused, "
        f"{sum(1 for r in run.results if r.steps)} schema(s) to go."
    )


@contextmanager
def _run_sessions_named(run_id: str) -> Iterator[None]:
    """Name the database sessions of this run's workers and dumps after the run, so that
    the next run finds them if this one is killed (``orphans_terminate``)."""
    before = os.environ.get("PGAPPNAME")
    os.environ["PGAPPNAME"] = f"{RUN_APPLICATION_NAME} {run_id}"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("PGAPPNAME", None)
        else:
            os.environ["PGAPPNAME"] = before


def _bar(total: int, description: str, file: TextIO | None, enabled: bool) -> tqdm:
    return tqdm(
        total=total, desc=description, unit="schema", file=file, disable=not enabled or not total
    )
