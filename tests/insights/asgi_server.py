"""Run the real ASGI app under uvicorn in a thread, against the test database.

The SSE stream is an async view: Django's WSGI live server would buffer it, so tests of
real-time delivery talk to uvicorn, like ``make run`` does.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn


@contextmanager
def running_asgi_server() -> Iterator[int]:
    """Start uvicorn on a free port; yield the port; stop it afterwards."""
    from django.db import connection, connections

    from learning_site.asgi import application

    # The server's threads must not keep connections open, or the test database
    # cannot be dropped at the end of the run.
    db_settings = connections.settings["default"]
    max_age = db_settings.get("CONN_MAX_AGE", 0)
    db_settings["CONN_MAX_AGE"] = 0

    config = uvicorn.Config(
        application,
        host="127.0.0.1",
        port=0,
        log_level="warning",
        lifespan="off",
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=5)
        db_settings["CONN_MAX_AGE"] = max_age
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                " AND application_name = 'learning-loop-insights-stream'"
            )
