"""The test database's URL, for the processes a test starts (servers, workers, commands).

``HOST`` may be a socket directory (the embedded PostgreSQL of ``make test``): it goes into
the URL percent-encoded, which ``dj_database_url`` reads back as that directory.
"""

from urllib.parse import quote

from django.db import connection


def database_url(database: str | None = None) -> str:
    """The test database's URL, or another database's on the same server."""
    db = connection.settings_dict
    password = f":{quote(db['PASSWORD'], safe='')}" if db.get("PASSWORD") else ""
    host = quote(db.get("HOST") or "127.0.0.1", safe="")
    return (
        f"postgresql://{db.get('USER') or 'postgres'}{password}@{host}"
        f":{db.get('PORT') or '5432'}/{database or db['NAME']}"
    )
