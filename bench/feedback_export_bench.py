"""Feedback export under ASGI: time to the first byte, total time and the server's memory.

Runs uvicorn (one process, as ``make run`` serves ASGI) on a scratch organisation in the
database of DATABASE_URL, fills it with ``--rows`` rated outputs (about 1.1 kB of CSV
each), downloads ``/feedback/export/?format=csv`` as a manager and prints the figures:

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/ll_export_bench \\
        .venv/bin/python bench/feedback_export_bench.py [--rows 180000]

Memory is the server process's resident set (VmRSS before, VmHWM peak after) from /proc.
The organisation is dropped at the end unless --keep. The database must exist and be
migrated (``manage.py migrate_schemas --shared`` with the same DATABASE_URL).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "learning_site.settings")

import django  # noqa: E402

django.setup()

import requests  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django_tenants.utils import schema_context  # noqa: E402

from apps.feedback.models import FeedbackEntry  # noqa: E402
from apps.outcomes.models import ActionType, OutcomeRecord  # noqa: E402
from apps.tenancy.models import Organization  # noqa: E402
from apps.tenancy.services import organization_create, public_tenant_ensure  # noqa: E402
from bench.common import ROOT, Server, free_port  # noqa: E402

SLUG = "exportbench"
TEXT = "Hi Dana, following up on the pricing you asked for last week. " * 16  # ~1 kB


def populate(rows: int):
    from apps.crm.models import Account
    from apps.users.models import User

    manager = User.objects.create_user("maria", password="pw-bench", role="manager")
    rep = User.objects.create_user("rory", password="pw-bench", role="rep", manager=manager)
    account = Account.objects.create(external_id="acc-1", name="Bluefin", owner=rep)
    email = ActionType.objects.get(code="email_sent")
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {OutcomeRecord._meta.db_table}
              (external_id, action_type_id, account_id, predicted_confidence, occurred_at,
               output_text, metadata, status, window_ends_at, resolution_note, created_at)
            SELECT 'out-' || n, %s, %s, 0.7, now() - interval '1 day', %s, '{{}}', 'pending',
                   now() + interval '1 day', '', now()
            FROM generate_series(1, %s) n
            """,
            [email.pk, account.pk, TEXT, rows],
        )
        cursor.execute(
            f"""
            INSERT INTO {FeedbackEntry._meta.db_table}
              (outcome_id, user_id, kind, rating, comment, positive_notes, negative_notes,
               feature_requests, error_category, error_details, feedback_source,
               created_at, updated_at)
            SELECT o.id, %s, 'dashboard', 1 + o.id %% 5, '=cmd|'' /C calc''!A0 and a comment',
                   '', '', '{{}}', '', '', 'dashboard', now(), now()
            FROM {OutcomeRecord._meta.db_table} o
            """,
            [rep.pk],
        )
    client = Client(HTTP_HOST=f"{SLUG}.localhost")
    client.force_login(manager)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def memory(pid: int) -> dict[str, int]:
    status = Path(f"/proc/{pid}/status").read_text().splitlines()
    values = dict(line.split(":", 1) for line in status)
    return {key: int(values[key].split()[0]) // 1024 for key in ("VmRSS", "VmHWM")}


def server_pid(server: Server) -> int:
    # ``uvicorn`` is the group leader we started; it serves in its own process.
    return server.process.pid


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=180_000)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    public_tenant_ensure()
    existing = Organization.objects.filter(slug=SLUG).first()
    if existing is not None:
        existing.delete(force_drop=True)
    org = organization_create(slug=SLUG, name="Export bench")
    started = time.monotonic()
    with schema_context(org.schema_name):
        session = populate(args.rows)
    print(f"populated {args.rows:,} rated outputs in {time.monotonic() - started:.1f} s")

    port = free_port()
    server = Server(
        "uvicorn",
        [
            str(ROOT / ".venv/bin/uvicorn"),
            "learning_site.asgi:application",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--lifespan",
            "off",
        ],
        env=os.environ | {"DJANGO_SETTINGS_MODULE": "learning_site.settings", "DJANGO_DEBUG": "0"},
        cwd=ROOT,
        log=ROOT / ".data/bench/export-uvicorn.log",
    )
    host = {"Host": f"{SLUG}.localhost"}
    try:
        server.wait_until_up(f"http://127.0.0.1:{port}/healthz", headers=host)
        pid = server_pid(server)
        before = memory(pid)
        started = time.monotonic()
        first = None
        size = 0
        with requests.get(
            f"http://127.0.0.1:{port}/feedback/export/?format=csv",
            headers=host,
            cookies={settings.SESSION_COOKIE_NAME: session},
            stream=True,
            timeout=600,
        ) as response:
            response.raise_for_status()
            for chunk in response.iter_content(chunk_size=65536):
                if first is None:
                    first = time.monotonic() - started
                size += len(chunk)
        total = time.monotonic() - started
        after = memory(pid)
        print(
            f"export: {size / 1e6:.0f} MB CSV, first byte {first:.2f} s, whole {total:.1f} s "
            f"({size / 1e6 / total:.0f} MB/s)"
        )
        print(
            f"server memory: {before['VmRSS']} MB before, peak {after['VmHWM']} MB "
            f"(+{after['VmHWM'] - before['VmRSS']} MB)"
        )
    finally:
        server.stop()
        if not args.keep:
            Organization.objects.get(slug=SLUG).delete(force_drop=True)


if __name__ == "__main__":
    main()
