"""One run at a time: the database answers, the advisory lock, what a killed run left."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import OperationalError, connection

from apps.tenancy.migration_safety.plan import MigrationSafetyError

# Any fixed bigint; every safe_migrate run on this database takes the same one.
LOCK_KEY = 7_451_204_913
# application_name of every session a run opens while it migrates (followed by its id).
RUN_APPLICATION_NAME = "safe_migrate"


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


def orphans_terminate(timeout: float = 30.0) -> list[int]:
    """End the sessions that runs killed earlier left behind; returns their process ids.

    Call it with the lock held: then no live run owns a session named after a run.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT pid FROM pg_stat_activity
            WHERE datname = current_database() AND application_name LIKE %s
              AND pid <> pg_backend_pid()
            """,
            [f"{RUN_APPLICATION_NAME} %"],
        )
        pids = [pid for (pid,) in cursor.fetchall()]
        if not pids:
            return []
        cursor.execute("SELECT pg_terminate_backend(pid) FROM unnest(%s::int[]) AS pid", [pids])
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s)", [pids])
            if cursor.fetchone()[0] == 0:
                break
            time.sleep(0.1)
    return pids


def invalid_indexes_drop(schema: str) -> list[str]:
    """Drop the indexes a killed ``CREATE INDEX CONCURRENTLY`` left invalid in ``schema``.

    Such an index is never used by queries but is kept up to date on every write, and the
    migration that builds it again fails on its name; its migration is not recorded, so the
    resumed run builds it afresh.
    """
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT cls.relname FROM pg_index idx
            JOIN pg_class cls ON cls.oid = idx.indexrelid
            JOIN pg_namespace ns ON ns.oid = cls.relnamespace
            WHERE ns.nspname = %s AND NOT idx.indisvalid
            """,
            [schema],
        )
        names = [name for (name,) in cursor.fetchall()]
        for name in names:
            # CONCURRENTLY: writes to the table go on while it waits for its turn
            cursor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {quote(schema)}.{quote(name)}")
    return names
