"""`make serve`: the production way of running Learning Loop on one machine.

gunicorn supervises WEB_CONCURRENCY uvicorn workers (uvicorn-worker) running the ASGI
application, so pages, the API and the Server-Sent Events stream share one port: sync views
run in each worker's thread, the SSE stream stays async and holds no worker. WhiteNoise
serves the static files collected into .data/staticfiles. A Celery worker and beat run
beside it, as in `make run`.

Defaults are for a single host behind a TLS-terminating proxy (or plain http on localhost):
DJANGO_ENV=production, a SECRET_KEY generated once into .data/secret_key, ALLOWED_HOSTS
localhost and *.localhost, SECURE_SSL_REDIRECT=0 (the proxy redirects). Set any of them in
the environment to override. `SERVE_WORKER_CLASS=sync` runs the WSGI application under
gunicorn's sync workers instead (no SSE stream; used by the benchmarks as a comparison).

    python -m ops.serve [--web-only] [--no-migrate] [--no-demo]
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from pathlib import Path

from ops.processes import celery_commands, port_free, supervise

ROOT = Path(__file__).resolve().parent.parent
HOST = os.environ.get("HOST", "127.0.0.1")
PORT = int(os.environ.get("PORT", "8000"))
WORKERS = int(os.environ.get("WEB_CONCURRENCY", "2"))
WORKER_CLASSES = {
    "uvicorn": ("uvicorn_worker.UvicornWorker", "learning_site.asgi:application"),
    "sync": ("sync", "learning_site.wsgi:application"),
}


def production_environment(data_dir: Path) -> None:
    """Fill in the production defaults that the environment does not set."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "learning_site.settings")
    os.environ.setdefault("DJANGO_ENV", "production")
    os.environ.setdefault("ALLOWED_HOSTS", "localhost,.localhost,127.0.0.1")
    os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
    if not os.environ.get("SECRET_KEY"):
        key_file = data_dir / "secret_key"
        if not key_file.exists():
            data_dir.mkdir(parents=True, exist_ok=True)
            key_file.write_text(secrets.token_urlsafe(64))
            key_file.chmod(0o600)
        os.environ["SECRET_KEY"] = key_file.read_text().strip()


def gunicorn_command(worker_class: str = "uvicorn", workers: int = WORKERS) -> list[str]:
    worker, application = WORKER_CLASSES[worker_class]
    return [
        sys.executable,
        "-m",
        "gunicorn",
        application,
        "--worker-class",
        worker,
        "--workers",
        str(workers),
        "--bind",
        f"{HOST}:{PORT}",
        "--graceful-timeout",
        "10",
        "--timeout",
        "60",
        "--forwarded-allow-ips",
        os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1"),
        "--log-level",
        os.environ.get("GUNICORN_LOG_LEVEL", "warning"),
        # The web workers lend database connections from a pool (learning_site.settings).
        "--env",
        f"DATABASE_POOL={os.environ.get('DATABASE_POOL', '1')}",
    ]


def prepare(*, migrate: bool, demo: bool) -> None:
    """Migrations, the public tenant, static files, and the demo organisation on first run."""
    import django
    from django.core.management import call_command

    django.setup()
    from apps.tenancy.services import public_tenant_ensure

    if migrate:
        print("Migrating every schema…", flush=True)
        call_command("migrate_schemas", interactive=False, verbosity=0)
    public_tenant_ensure()
    print("Collecting static files…", flush=True)
    call_command("collectstatic", interactive=False, verbosity=0)
    if demo:
        from apps.demo.constants import DEMO_SLUG
        from apps.tenancy.models import Organization

        if not Organization.objects.filter(slug=DEMO_SLUG).exists():
            print("First run: seeding the demo organisation…", flush=True)
            call_command("seed_demo")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--web-only", action="store_true", help="no Celery worker and beat")
    parser.add_argument("--no-migrate", action="store_true")
    parser.add_argument("--no-demo", action="store_true")
    args = parser.parse_args(argv)

    if not port_free(HOST, PORT):
        print(f"Port {PORT} is in use. Stop the other server or run `PORT=8001 make serve`.")
        return 1
    production_environment(Path(os.environ.get("LL_DATA_DIR", ROOT / ".data")))
    prepare(migrate=not args.no_migrate, demo=not args.no_demo)
    from django.conf import settings

    worker_class = os.environ.get("SERVE_WORKER_CLASS", "uvicorn")
    commands = {"web": gunicorn_command(worker_class)}
    if not args.web_only:
        commands.update(celery_commands(settings))

    def announce() -> None:
        print(
            f"\nLearning Loop is serving on http://{HOST}:{PORT}/ "
            f"(gunicorn, {WORKERS} {worker_class} workers; organisations at "
            f"http://<slug>.{settings.BASE_DOMAIN}:{PORT}/). Press Ctrl-C to stop.\n",
            flush=True,
        )

    exit_code = supervise(commands, host=HOST, port=PORT, on_ready=announce, cwd=ROOT)
    print("Stopped.", flush=True)
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
