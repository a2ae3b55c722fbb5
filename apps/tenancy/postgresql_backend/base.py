"""django-tenants' PostgreSQL backend, sending ``SET search_path`` only when the database
connection's path is not already the organisation's.

django-tenants forgets the path it set whenever a request selects its organisation
(``set_tenant``) or gives its connection back (``close``), so every request on a pooled or
persistent connection began with a ``SET search_path`` round trip, even when the connection
had served the same organisation just before. Here the path is remembered on the driver's
connection itself (``psycopg.Connection``), which is what the pool lends out again and what
PostgreSQL's session setting belongs to; the statement is sent when that connection's path
differs from the one wanted, and only then.

The remembered path is dropped whenever PostgreSQL may have discarded the setting: a
rollback or a rollback to a savepoint (a ``SET`` is transactional), and a connection given
back in the middle of a transaction (the pool rolls it back). A new driver connection
remembers nothing. Behind PgBouncer this holds in session mode only, which the settings
require: the client connection keeps its server connection, and so its setting.

``prepared_cursor()`` is a cursor for the hot paths' statements (a record read by id, a
decision, a rating): PostgreSQL plans each once per connection and reuses the plan
(``PREPARE``), where Django's cursors send every statement with its values written in and
have it planned again. Planning was a third of the database's time for those statements
(0.3 ms of the 0.4 ms reading an outcome with its related rows). The values travel apart
from the SQL (server-side binding), so a value whose type PostgreSQL cannot infer needs a
cast in the SQL. A prepared plan follows the organisation: PostgreSQL plans the statement
again when ``search_path`` has changed since (tests/tenancy/test_prepared_statements.py).
After a migration that changes the type of a column such a statement returns, PostgreSQL
refuses the old plan: the connection's statements are dropped and prepared again. Every
other statement stays unprepared, as Django sends it.

Timestamps (``timestamptz``) are read by psycopg's compiled loader where Django registers one
of its own, in Python, that parses the value and then sets UTC on it: 6 microseconds a value,
and a decision reads back a dozen. The connection's ``TimeZone`` is UTC (Django sets it on
every connection), which psycopg's loader gives the values it reads: the same datetimes.
"""

from __future__ import annotations

import datetime

import psycopg
from django.db.backends.postgresql.base import ServerBindingCursor
from django.db.backends.postgresql.operations import DatabaseOperations as PostgresOperations
from django_tenants.postgresql_backend import base as tenants_base
from psycopg import adapt, errors, pq

# An attribute of the driver's connection: (schema, ...) as last set on it, or absent.
_PATH = "_learning_loop_search_path"


# psycopg prepares a statement after this many runs on a connection: never, so that only
# the statements of ``prepared_cursor`` are, on their first run (Django's default, None,
# would refuse those too). With preparing on, psycopg also notes every other statement in
# its cache of statements seen (at most 100 per connection): microseconds each.
_ONLY_WHEN_ASKED = 2**31 - 1


class _PreparedCursor(ServerBindingCursor):
    """Each statement prepared on its first run on the connection, then run by name."""

    def execute(self, query, params=None, *, prepare=None, binary=None):
        try:
            return super().execute(query, params, prepare=True, binary=binary)
        except errors.FeatureNotSupported as error:
            idle = self.connection.info.transaction_status == pq.TransactionStatus.IDLE
            if _STALE_PLAN not in str(error) or not idle:
                raise  # in a transaction, its rollback drops the connection's statements
            # A migration changed the type of a column the statement returns (a longer
            # varchar, say): PostgreSQL refuses the plans prepared before it, on every
            # connection holding one. Drop this connection's, as psycopg does on a
            # rollback, and run the statement again (prepared anew).
            prepared = self.connection._prepared
            prepared.clear()
            self.connection.wait(prepared.maintain_gen(self.connection))
            return super().execute(query, params, prepare=True, binary=binary)


_STALE_PLAN = "cached plan must not change result type"


# psycopg's loader of timestamps: its compiled one where psycopg's C extension is installed.
_PSYCOPG_TIMESTAMPTZ = psycopg.adapters.get_loader(
    psycopg.adapters.types["timestamptz"].oid, pq.Format.TEXT
)


class _UtcTimestamptzLoader:
    """Timestamps as psycopg reads them, in the connection's TimeZone, which is UTC
    (Django's ``ensure_timezone``). ``timezone`` is what Django's cursor checks before
    giving it a loader of its own; each loader made is psycopg's own (compiled, which a
    class cannot extend), read by psycopg without a call back into Python."""

    timezone = datetime.UTC
    format = pq.Format.TEXT

    def __new__(cls, oid, context=None):
        return _PSYCOPG_TIMESTAMPTZ(oid, context)


class DatabaseOperations(PostgresOperations):
    def cast_placeholders(self, fields) -> str:
        """Placeholders for values a prepared statement selects (``INSERT … SELECT``), each
        cast to its field's column type: sent apart from the SQL, a selected value's type
        is not inferred from the column it goes to, as a VALUES row's is."""
        return ", ".join(f"%s::{field.cast_db_type(self.connection)}" for field in fields)

    def last_executed_query(self, cursor, sql, params):
        """A prepared statement's values travel apart from it: the SQL shown (the debug
        toolbar, ``assertNumQueries``) is composed from both, as Django does for
        server-side binding."""
        if isinstance(cursor, _PreparedCursor):
            try:
                return self.compose_sql(sql, params)
            except errors.DataError:
                return None
        return super().last_executed_query(cursor, sql, params)


class DatabaseWrapper(tenants_base.DatabaseWrapper):
    ops_class = DatabaseOperations

    def get_connection_params(self):
        params = super().get_connection_params()
        if params.get("prepare_threshold") is None:
            params["prepare_threshold"] = _ONLY_WHEN_ASKED
        if self.timezone == datetime.UTC and "context" in params:
            params["context"] = adapt.AdaptersMap(params["context"])
            params["context"].register_loader("timestamptz", _UtcTimestamptzLoader)
        return params

    def prepared_cursor(self):
        """A cursor whose statements are planned once per connection (module docstring).
        Its SQL must be the same text each time, with the values as parameters."""
        self.close_if_health_check_failed()
        self.ensure_connection()
        wanted = self._get_cursor_search_paths() if self.schema_name else None
        if wanted is None or getattr(self.connection, _PATH, None) != wanted:
            self.cursor().close()  # the organisation's search path set, as a cursor does
        factory = self.connection.cursor_factory
        self.connection.cursor_factory = _PreparedCursor
        try:
            with self.wrap_database_errors:
                return self._prepare_cursor(self.create_cursor())
        finally:
            self.connection.cursor_factory = factory

    def _handle_search_path(self, cursor=None):
        if self._setting_search_path or self.connection is None or not self.schema_name:
            return super()._handle_search_path(cursor)
        wanted = self._get_cursor_search_paths()
        if getattr(self.connection, _PATH, None) == wanted:
            self.search_path_set_schemas = wanted
            return
        super()._handle_search_path(cursor)
        self._remember(self.search_path_set_schemas)

    def _remember(self, search_paths: list[str] | None) -> None:
        if self.connection is not None:
            setattr(self.connection, _PATH, list(search_paths) if search_paths else None)

    def rollback(self):
        self._remember(None)
        super().rollback()

    def savepoint_rollback(self, sid):
        try:
            super().savepoint_rollback(sid)
        finally:
            self._remember(None)

    def close(self):
        raw = self.connection
        if raw is not None and raw.info.transaction_status != pq.TransactionStatus.IDLE:
            setattr(raw, _PATH, None)
        super().close()
