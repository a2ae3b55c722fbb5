"""The SQL a piece of code sends, for tests that count or inspect statements."""

from __future__ import annotations

from django.db import connection


def statements_of(send) -> list[str]:
    """The statements ``send()`` makes, in order (a request resets Django's own query log,
    so this wraps the connection instead of reading ``connection.queries``)."""
    sent: list[str] = []

    def record(execute, sql, params, many, context):
        sent.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        send()
    return sent
