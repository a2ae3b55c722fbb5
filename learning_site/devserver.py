"""`make run`: database, migrations, demo data on first run, then web + worker + beat.

Ctrl-C stops every process cleanly; running it again reuses the data under .data/.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from urllib.parse import quote

HOST = os.environ.get("HOST", "127.0.0.1")
PORT = int(os.environ.get("PORT", "8000"))


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex((HOST, port)) != 0


def _pump(name: str, process: subprocess.Popen) -> None:
    for line in process.stdout:
        sys.stdout.write(f"{name:>6} | {line}")
    sys.stdout.flush()


def main() -> int:
    if not _port_free(PORT):
        print(f"Port {PORT} is in use. Stop the other server or run `PORT=8001 make run`.")
        return 1
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "learning_site.settings")
    import django
    from django.core.management import call_command

    django.setup()  # starts the embedded PostgreSQL when DATABASE_URL is unset
    from django.conf import settings

    from apps.demo.constants import DEMO_SLUG, DEMO_USERS
    from apps.tenancy.models import Organization
    from apps.tenancy.services import public_tenant_ensure

    print("Migrating every schema…", flush=True)
    call_command("migrate_schemas", interactive=False, verbosity=0)
    public_tenant_ensure()
    if not Organization.objects.filter(slug=DEMO_SLUG).exists():
        print("First run: seeding the demo organisation…", flush=True)
        call_command("seed_demo")

    env = dict(os.environ)
    if not env.get("DATABASE_URL"):
        # Children use the server this process started instead of taking handles of their
        # own, so that this process alone stops it on exit.
        database = settings.DATABASES["default"]
        socket_dir = quote(database["HOST"], safe="")
        env["DATABASE_URL"] = f"postgresql://{database['USER']}@{socket_dir}/{database['NAME']}"
    python = sys.executable
    commands = {
        "web": [
            python,
            "-m",
            "uvicorn",
            "learning_site.asgi:application",
            "--host",
            HOST,
            "--port",
            str(PORT),
            "--log-level",
            "warning",
        ],
        "worker": [
            python,
            "-m",
            "celery",
            "-A",
            "learning_site",
            "worker",
            "-l",
            "warning",
            "--concurrency",
            "2",
            "-n",
            f"worker-{os.getpid()}@%h",
        ],
        "beat": [
            python,
            "-m",
            "celery",
            "-A",
            "learning_site",
            "beat",
            "-l",
            "warning",
            "-s",
            settings.CELERY_BEAT_SCHEDULE_FILENAME,
        ],
    }
    for folder in ("queue", "control"):
        (settings.CELERY_BROKER_DIR / folder).mkdir(parents=True, exist_ok=True)
    processes: dict[str, subprocess.Popen] = {}
    for name, command in commands.items():
        processes[name] = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        threading.Thread(target=_pump, args=(name, processes[name]), daemon=True).start()

    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)

    for _ in range(100):
        if not _port_free(PORT) or any(p.poll() is not None for p in processes.values()):
            break
        time.sleep(0.1)
    base = settings.BASE_DOMAIN
    print(f"\nLearning Loop is running: http://{DEMO_SLUG}.{base}:{PORT}/", flush=True)
    print(
        f"API docs: http://{DEMO_SLUG}.{base}:{PORT}/api/docs/   "
        f"Operator admin: http://{base}:{PORT}/admin/"
    )
    print("Demo logins (username / password):")
    for username, role, password, _name in DEMO_USERS:
        print(f"  {role:<10} {username:<10} {password}")
    print("Press Ctrl-C to stop.\n", flush=True)

    exit_code = 0
    while not stopping:
        for name, process in processes.items():
            if process.poll() is not None:
                print(f"{name} exited with code {process.returncode}; stopping.", flush=True)
                stopping, exit_code = True, 1
                break
        time.sleep(0.3)

    print("\nStopping web, worker and beat…", flush=True)
    for process in processes.values():
        if process.poll() is None:
            process.terminate()  # each server shuts its own children down (warm shutdown)
    deadline = time.time() + 15
    for process in processes.values():
        try:
            process.wait(timeout=max(0.1, deadline - time.time()))
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
    if not os.environ.get("DATABASE_URL"):
        from learning_site.embedded import embedded_database_stop

        embedded_database_stop(settings.DATA_DIR)
    print("Stopped.", flush=True)
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
