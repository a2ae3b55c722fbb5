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
"""

from __future__ import annotations

from django_tenants.postgresql_backend import base as tenants_base
from psycopg import pq

# An attribute of the driver's connection: (schema, ...) as last set on it, or absent.
_PATH = "_learning_loop_search_path"


class DatabaseWrapper(tenants_base.DatabaseWrapper):
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
