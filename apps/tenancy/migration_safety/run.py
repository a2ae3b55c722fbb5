"""The whole run: plan, check, and back up + migrate + verify."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TextIO

from django.db import connection
from tqdm import tqdm

from apps.tenancy.migration_safety.backup import default_backup_dir, schema_backup
from apps.tenancy.migration_safety.disk import disk_space_check, schemas_size_bytes
from apps.tenancy.migration_safety.lock import database_check, migration_lock
from apps.tenancy.migration_safety.migrate import _migrate_all
from apps.tenancy.migration_safety.plan import (
    MigrationRun,
    MigrationSafetyError,
    migration_targets,
    plans_for,
    schemas_in_scope,
)
from apps.tenancy.migration_safety.stats import table_row_counts
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
    parallel: int = 1,
    verbosity: int = 0,
    progress_file: TextIO | None = None,
    progress: bool = True,
) -> MigrationRun:
    """Back up, migrate (or roll back) and verify every schema in scope.

    Raises MigrationSafetyError when a precondition fails (nothing has changed then);
    a failure while migrating is reported in the returned run, with its backups.
    """
    if parallel < 1:
        raise MigrationSafetyError("--parallel must be at least 1.")
    database_check()
    with migration_lock():
        targets = migration_targets(rollback)
        run = MigrationRun(targets, plans_for(schemas_in_scope(org_slugs), targets))
        affected = [result for result in run.results if result.changes]
        started = time.monotonic()
        if affected:
            run.backup_dir = backup_dir or default_backup_dir()
            disk_space_check(run.backup_dir, schemas_size_bytes([r.schema for r in affected]))
            with _bar(len(affected), "backup", progress_file, progress) as bar:
                for result in affected:
                    bar.set_postfix_str(result.schema)
                    result.backup = schema_backup(result.schema, run.backup_dir)
                    result.rows_before = table_row_counts(result.schema)
                    bar.update(1)
        run.seconds["backup"] = time.monotonic() - started
        steps = sum(1 for result in run.results if result.steps)
        with _bar(steps, "rollback" if rollback else "migrate", progress_file, progress) as bar:
            _migrate_all(
                run.results,
                rollback=targets[0] if rollback else None,
                parallel=parallel,
                verbosity=verbosity,
                progress=bar,
            )
        run.seconds["migrate"] = time.monotonic() - started - run.seconds["backup"]
        connection.set_schema_to_public()
        schemas_verify(run.results, targets, rollback=rollback is not None)
        run.seconds["verify"] = time.monotonic() - started - sum(run.seconds.values())
        return run


def _bar(total: int, description: str, file: TextIO | None, enabled: bool) -> tqdm:
    return tqdm(
        total=total, desc=description, unit="schema", file=file, disable=not enabled or not total
    )
