"""One run at a time: the database answers, and the advisory lock."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import OperationalError, connection

from apps.tenancy.migration_safety.plan import MigrationSafetyError

# Any fixed bigint; every safe_migrate run on this database takes the same one.
LOCK_KEY = 7_451_204_913


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
