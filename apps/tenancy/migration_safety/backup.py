"""Dump a schema before it changes; restore one or a whole backup directory."""

from __future__ import annotations

import os
import re
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.utils import timezone

from apps.tenancy.migration_safety.pg_tools import _run_tool
from apps.tenancy.migration_safety.plan import MigrationSafetyError


def backup_root() -> Path:
    """Where each run's backup directory goes unless ``--backup-dir`` says otherwise."""
    return Path(settings.DATA_DIR) / "backups"


def default_backup_dir() -> Path:
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    directory = backup_root() / stamp
    suffix = 1
    while directory.exists():
        suffix += 1
        directory = directory.with_name(f"{stamp}-{suffix}")
    return directory


def schema_backup(schema: str, directory: Path) -> Path:
    """Dump ``schema`` (structure and data) to ``<directory>/<schema>.dump``."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{schema}.dump"
    # Written aside and renamed when complete: a dump cut short by a killed run is never
    # taken for a backup, and a leftover pg_dump of that run cannot write into this one.
    partial = directory / f"{schema}.dump.{os.getpid()}.partial"
    _run_tool("pg_dump", ["--format=custom", f"--schema={schema}", f"--file={partial}"])
    partial.rename(path)
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
