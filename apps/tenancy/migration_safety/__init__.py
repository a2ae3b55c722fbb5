"""Safe schema migrations across every organisation's schema: plan, backup, migrate, verify.

``manage.py safe_migrate`` is the interface; this module does the work, in this order:

1. preconditions: the database answers, no other run holds the advisory lock, the backup
   directory has room for a dump of every schema that will change;
2. plan: per schema, the migrations that would run (``MigrationExecutor.migration_plan``
   against that schema's own ``django_migrations``);
3. per schema, one at a time or N at a time in a pool of forked workers (``parallel``):
   back it up (``pg_dump --schema``, custom format, one file each, with the pg_dump whose
   major version matches the server), count its rows, run django-tenants'
   ``migrate_schemas``; stop starting schemas at the first failure. Each step is written
   to the run's journal next to the backups, so a killed run is carried on where it
   stopped (``journal``);
4. verify: every schema in scope is at the target, no pre-existing table lost rows, and
   each organisation's tables have the columns, indexes, constraints and triggers the
   other organisations' schemas at the target share (the reference structure).

A schema that failed is restored with ``safe_migrate --restore <backup file>``.

One module per job: ``plan``, ``stats``, ``lock``, ``disk``, ``pg_tools``, ``backup``,
``journal`` (the run state), ``migrate`` (the worker pool), ``verify`` and ``run`` (the
whole run); this package exports what the command, the tests and the benchmark use.
"""

from apps.tenancy.migration_safety.backup import backup_files, backup_restore
from apps.tenancy.migration_safety.disk import disk_space_check
from apps.tenancy.migration_safety.journal import RunJournal
from apps.tenancy.migration_safety.lock import (
    LOCK_KEY,
    RUN_APPLICATION_NAME,
    database_check,
    migration_lock,
)
from apps.tenancy.migration_safety.migrate import schema_migrate
from apps.tenancy.migration_safety.pg_tools import postgres_tool, server_major_version
from apps.tenancy.migration_safety.plan import (
    MigrationRun,
    MigrationSafetyError,
    SchemaResult,
    migration_targets,
    schema_plan,
)
from apps.tenancy.migration_safety.run import migration_check, migration_plan, migrations_run
from apps.tenancy.migration_safety.stats import table_columns, table_fingerprints, table_row_counts
from apps.tenancy.migration_safety.verify import schemas_verify

__all__ = [
    "LOCK_KEY",
    "MigrationRun",
    "MigrationSafetyError",
    "RUN_APPLICATION_NAME",
    "RunJournal",
    "SchemaResult",
    "backup_files",
    "backup_restore",
    "database_check",
    "disk_space_check",
    "migration_check",
    "migration_lock",
    "migration_plan",
    "migration_targets",
    "migrations_run",
    "postgres_tool",
    "schema_migrate",
    "schema_plan",
    "schemas_verify",
    "server_major_version",
    "table_columns",
    "table_fingerprints",
    "table_row_counts",
]
