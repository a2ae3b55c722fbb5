"""Room for the backups: schema sizes and the free-space check."""

from __future__ import annotations

import shutil
from pathlib import Path

from django.db import connection

from apps.tenancy.migration_safety.plan import MigrationSafetyError

DISK_HEADROOM_BYTES = 64 * 1024 * 1024


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
