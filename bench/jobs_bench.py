"""Periodic jobs benchmark: full cycles of every job over every organisation.

Two real Celery worker processes (solo pool, one task at a time each) consume from Redis;
the bench sends a cycle the way beat does (``TenantBeatScheduler.apply_entry`` for every
registry entry: one task per job and organisation, each expiring after the job's period)
and measures:

- the wall time from the first send until every task has been run (counted from the
  workers' log lines ``job <name> in <schema>: <result>``);
- the peak queue length (Redis list ``celery``, sampled every 50 ms) and the peak of
  tasks fetched but not finished (Redis hash ``unacked``);
- how many runs were skipped as idle, per cycle.

Cycle 1 runs after a cold start (no ``PeriodicJobRun`` rows: nothing is idle); the next
cycles ``--pause`` seconds later (by default just past the idle check's 5-minute
look-back margin, as beat's shortest period is) show the steady state with nothing new:
what is left running is what the clock keeps due (open deals for detection, pending
insights for alert retries, learnings that decay).

By default a cycle is sent at once (``--jitter 0``: the worst case for the queue); with
``--jitter`` the sends carry beat's own delays (up to 5 minutes per job).

    createdb copy:  psql -h 127.0.0.1 -U postgres \\
        -c 'CREATE DATABASE jobs_bench_1000 TEMPLATE bench_orgs_1000'
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/jobs_bench_1000 \\
    REDIS_URL=redis://127.0.0.1:6379/5 .venv/bin/python bench/jobs_bench.py [--cycles 2]

Without organisations in the database, ``--create N`` makes N small ones (a few
accounts, deals, interactions and 200 outcomes each, all dated a day back).
The public schema is migrated first (the run record table); nothing else is changed
except what the jobs themselves do.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "learning_site.settings")
os.environ.setdefault("DJANGO_DEBUG", "0")

import django  # noqa: E402

django.setup()

import redis  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django_tenants.utils import schema_context  # noqa: E402

from apps.tenancy.models import Organization  # noqa: E402
from apps.tenancy.periodic import SINCE_MARGIN, load_jobs  # noqa: E402
from bench.common import DATA, ROOT, Server  # noqa: E402
from learning_site.beat import JITTER_MAX, TenantBeatScheduler  # noqa: E402
from learning_site.celery import app  # noqa: E402

DONE = re.compile(r"job (\S+) in (\S+): (.*)$")
# A task that raised (e.g. PostgreSQL refusing a connection: the machine is shared) is
# finished too, as a failure: it is not retried before the next period.
FAILED = re.compile(r"Task (tenancy\.run_periodic_job)\[\S+\] raised (unexpected)(): ")
# A send that expired in the queue (older than its job's period) is dropped by the worker.
EXPIRED = re.compile(r"Discarding revoked task: (tenancy\.run_periodic_job)\[\S+(\])()")


def small_orgs(count: int) -> None:
    """``count`` small organisations (scratch scale), their data dated a day back."""
    from django.utils import timezone

    from apps.crm.models import Account, Deal, Interaction
    from apps.outcomes.models import ActionType, OutcomeRecord
    from apps.tenancy.services import organization_create, public_tenant_ensure

    public_tenant_ensure()
    have = Organization.objects.exclude(schema_name="public").count()
    for number in range(have + 1, count + 1):
        org = organization_create(slug=f"jbench-{number}", name=f"Jobs bench {number}")
        with schema_context(org.schema_name):
            now = timezone.now()
            types = list(ActionType.objects.all()[:4])
            accounts = Account.objects.bulk_create(
                Account(external_id=f"a{n}", name=f"Account {n}") for n in range(5)
            )
            for n, account in enumerate(accounts):
                Deal.objects.create(
                    external_id=f"d{n}", account=account, name="Deal", stage="prospecting",
                    amount=1000, stage_changed_at=now - timedelta(days=5),
                )  # fmt: skip
            Interaction.objects.bulk_create(
                Interaction(
                    account=accounts[n % 5],
                    channel="email",
                    direction="inbound",
                    occurred_at=now - timedelta(hours=n * 7),
                )  # fmt: skip
                for n in range(40)
            )
            OutcomeRecord.objects.bulk_create(
                OutcomeRecord(
                    external_id=f"o{n}",
                    action_type=types[n % len(types)],
                    account=accounts[n % 5],
                    predicted_confidence=(n % 10) / 10 + 0.05,
                    occurred_at=now - timedelta(hours=n * 3),
                    window_ends_at=now - timedelta(hours=n * 3) + timedelta(days=3),
                )  # fmt: skip
                for n in range(200)
            )
            with connection.cursor() as cursor:
                for table in ("crm_account", "crm_interaction", "outcomes_outcomerecord"):
                    cursor.execute(f"UPDATE {table} SET created_at = created_at - interval '1 day'")
                cursor.execute("UPDATE crm_deal SET updated_at = updated_at - interval '1 day'")
        print(f"  created {org.slug}", flush=True)


def workers(count: int, log_dir: Path) -> list[Server]:
    env = {**os.environ, "DJANGO_DEBUG": "0"}
    started = []
    for number in range(1, count + 1):
        command = [
            sys.executable, "-m", "celery", "-A", "learning_site", "worker", "-l", "info",
            "--pool", "solo", "-n", f"jobsbench{number}@%h", "--without-gossip",
            "--without-mingle", "--without-heartbeat",
        ]  # fmt: skip
        started.append(
            Server(f"worker{number}", command, env=env, cwd=ROOT, log=log_dir / f"w{number}.log")
        )
    deadline = time.time() + 120
    while time.time() < deadline:
        if all("ready." in server.log_path.read_text() for server in started):
            return started
        time.sleep(0.5)
    raise RuntimeError(f"workers did not start; see {log_dir}")


class Runs:
    """The workers' finished runs, read incrementally from their logs."""

    def __init__(self, servers: list[Server]):
        self.servers = servers
        self.offsets = [0] * len(servers)
        self.runs: list[tuple[str, str, str]] = []

    def read(self) -> int:
        for index, server in enumerate(self.servers):
            with server.log_path.open() as log:
                log.seek(self.offsets[index])
                chunk = log.read()
                complete = chunk[: chunk.rfind("\n") + 1]
                self.offsets[index] += len(complete.encode())
            for line in complete.splitlines():
                match = DONE.search(line) or FAILED.search(line) or EXPIRED.search(line)
                if match:
                    self.runs.append(match.groups())
        return len(self.runs)


def cycle(scheduler, client, runs: Runs, expected: int, timeout: float) -> dict:
    entries = [e for name, e in scheduler.schedule.items() if not name.startswith("celery.")]
    before = runs.read()
    peak_queue = peak_unacked = 0
    started = time.perf_counter()
    with schema_context("public"):
        for entry in entries:
            scheduler.apply_entry(entry, producer=scheduler.producer)
    sent = time.perf_counter() - started
    while runs.read() < before + expected and time.perf_counter() - started < timeout:
        for _ in range(10):  # the queue every 50 ms, the logs every 0.5 s
            peak_queue = max(peak_queue, client.llen("celery"))
            peak_unacked = max(peak_unacked, client.hlen("unacked"))
            time.sleep(0.05)
    wall = time.perf_counter() - started
    done = runs.runs[before:]
    skipped = Counter(result for _, _, result in done if result.startswith("skipped"))
    return {
        "wall": wall,
        "sent": sent,
        "runs": len(done),
        "peak_queue": peak_queue,
        "peak_unacked": peak_unacked,
        "idle": skipped.get("skipped: idle", 0),
        "running": skipped.get("skipped: running", 0),
        "failed": sum(1 for _, status, _ in done if status == "unexpected"),
        "expired": sum(1 for _, status, _ in done if status == "]"),
        "idle_by_job": Counter(job for job, _, result in done if result == "skipped: idle"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cycles", type=int, default=2)
    parser.add_argument(
        "--pause",
        type=float,
        default=SINCE_MARGIN.total_seconds() + 10,
        help="seconds between cycles (past the idle check's look-back margin, as beat's"
        " shortest period is)",
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--create", type=int, default=0, help="make N small organisations")
    parser.add_argument("--jitter", action="store_true", help="send with beat's delays")
    parser.add_argument("--timeout", type=float, default=3600)
    args = parser.parse_args()

    assert settings.CELERY_BROKER_URL.startswith("redis://"), "set REDIS_URL (e.g. DB 5)"
    call_command("migrate_schemas", "--shared", verbosity=0)
    if args.create:
        small_orgs(args.create)
    orgs = Organization.objects.exclude(schema_name="public").count()
    jobs = load_jobs()
    print(f"{orgs} organisations x {len(jobs)} jobs = {orgs * len(jobs)} tasks a cycle")

    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    app.control.purge()
    client.delete("unacked", "unacked_index")
    log_dir = DATA / "jobs_bench"
    servers = workers(args.workers, log_dir)
    scheduler = TenantBeatScheduler(app=app, schedule_filename=str(log_dir / "beat-schedule"))
    scheduler.jitter_max = JITTER_MAX if args.jitter else timedelta(0)
    runs = Runs(servers)
    rows = []
    try:
        for number in range(1, args.cycles + 1):
            if number > 1:
                time.sleep(args.pause)
            result = cycle(scheduler, client, runs, orgs * len(jobs), args.timeout)
            rows.append(result)
            print(
                f"cycle {number}: {result['wall']:.1f} s wall ({result['sent']:.1f} s sending), "
                f"{result['runs']} runs, {result['idle']} idle, {result['running']} already "
                f"running, {result['failed']} failed, {result['expired']} expired; peak queue {result['peak_queue']}, peak fetched-unfinished "
                f"{result['peak_unacked']}",
                flush=True,
            )
            print(
                "   idle by job: "
                + ", ".join(f"{j} {n}" for j, n in sorted(result["idle_by_job"].items()))
            )
    finally:
        for server in servers:
            server.stop()
        scheduler.close()
    rss = subprocess.run(
        ["ps", "-o", "rss=", "-p", str(os.getpid())], capture_output=True, text=True
    )
    print(f"bench process RSS {int(rss.stdout.strip() or 0) // 1024} MB")


if __name__ == "__main__":
    main()
