"""safe_migrate benchmark: plan, backup + migrate + verify, over many organisations.

Creates ``--orgs`` scratch organisations (``mbench-<n>``, reused when present) with
``--interactions`` CRM interactions each, rolls back in all of them the project migration
whose rollback is cheapest (found at run time), then times:

- ``safe_migrate --plan`` over those organisations;
- a full run (advisory lock, disk check, pg_dump per schema, migrate, verify), sequential;
- the same with ``--parallel N`` forked workers;
- ``safe_migrate --check``;
- restoring one schema's backup.

Run it against the machine's PostgreSQL, in a database of its own:

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/ll_bench_migrate \\
        .venv/bin/python bench/migrate_bench.py [--orgs 10] [--interactions 10000] \\
        [--parallel 2] [--keep]

The database must exist and have its public schema migrated
(``manage.py migrate_schemas --shared``); the scratch organisations are dropped at the end
unless ``--keep``.

At scale, ``--reuse DBNAME`` runs on a database that already holds the organisations
(a copy of one the tenants bench built: ``CREATE DATABASE mig_bench_1000 TEMPLATE
bench_orgs_1000``; it is changed, so never the original). It times ``pg_dump --schema``
of one organisation there, then runs the probe release (tests.migrations.probe: a
nullable column on crm_account and an index built concurrently on crm_interaction) with
``manage.py safe_migrate --parallel N`` as a subprocess over every organisation, and
prints its wall time, the peak memory of its whole process tree (the command, its
workers and their pg_dump) and each schema's backup time from the run's journal:

    .venv/bin/python bench/migrate_bench.py --reuse mig_bench_1000 --parallel 2 \\
        [--kill-after 300]

``--kill-after K`` kills the command with SIGKILL once K schemas are migrated and runs it
again, printing what the second run carried on and its time.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "learning_site.settings")
os.environ.setdefault("DJANGO_DEBUG", "0")

import django  # noqa: E402
import psutil  # noqa: E402

if "--reuse" in sys.argv:  # the bench's own queries go to the reused database
    _server = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/x")
    _name = sys.argv[sys.argv.index("--reuse") + 1]
    os.environ["DATABASE_URL"] = f"{_server.rsplit('/', 1)[0]}/{_name}"
django.setup()

from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402
from django_tenants.utils import schema_context  # noqa: E402

from apps.crm.models import Account, Interaction  # noqa: E402
from apps.tenancy.migration_safety import (  # noqa: E402
    RunJournal,
    backup_restore,
    migration_check,
    migration_plan,
    migrations_run,
    postgres_tool,
    schema_migrate,
)
from apps.tenancy.models import Organization  # noqa: E402
from apps.tenancy.services import organization_create, public_tenant_ensure  # noqa: E402
from tests.migrations.conftest import rollback_candidate  # noqa: E402
from tests.migrations.probe import probe_migrations_write  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def scratch_orgs(count: int, interactions: int) -> list[Organization]:
    public_tenant_ensure()
    orgs = []
    for number in range(1, count + 1):
        slug = f"mbench-{number}"
        org = Organization.objects.filter(slug=slug).first() or organization_create(
            slug=slug, name=f"Bench {number}"
        )
        with schema_context(org.schema_name):
            missing = interactions - Interaction.objects.count()
            if missing > 0:
                account, _ = Account.objects.get_or_create(
                    external_id="bench-acc", defaults={"name": "Bench account"}
                )
                now = timezone.now()
                Interaction.objects.bulk_create(
                    (
                        Interaction(
                            account=account,
                            channel="email",
                            direction="inbound" if index % 2 else "outbound",
                            occurred_at=now - timedelta(minutes=index),
                            summary=f"Bench interaction {index}",
                        )
                        for index in range(missing)
                    ),
                    batch_size=2000,
                )
        orgs.append(org)
    connection.set_schema_to_public()
    return orgs


def put_behind(orgs: list[Organization], candidate: tuple[str, str]) -> None:
    app_label, target = candidate
    for org in orgs:
        schema_migrate(org.schema_name, (app_label, None if target == "zero" else target))
    connection.set_schema_to_public()


def timed(label: str, func, *args, **kwargs):
    started = time.perf_counter()
    result = func(*args, **kwargs)
    print(f"{label:<46} {time.perf_counter() - started:8.2f} s")
    return result


def tree_rss_bytes(process: psutil.Process) -> int:
    """Resident memory of a process and all its descendants (shared pages counted in each)."""
    total = 0
    for member in [process, *process.children(recursive=True)]:
        try:
            total += member.memory_info().rss
        except psutil.Error:
            pass
    return total


def command_run(arguments: list[str], environment: dict[str, str], *, kill_when=None):
    """Run a command, sampling its process tree's memory; ``kill_when()`` true: SIGKILL it.

    Returns (seconds, peak RSS bytes, output, killed)."""
    started = time.perf_counter()
    process = subprocess.Popen(
        arguments, env=environment, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    watched = psutil.Process(process.pid)
    peak, killed, checked = 0, False, 0.0
    while process.poll() is None:
        peak = max(peak, tree_rss_bytes(watched))
        if kill_when and time.monotonic() - checked > 1:
            checked = time.monotonic()
            if kill_when():
                process.send_signal(signal.SIGKILL)
                killed = True
        time.sleep(0.2)
    output = process.stdout.read().decode()
    return time.perf_counter() - started, peak, output, killed


def pg_dump_seconds(database: str, schema: str) -> float:
    started = time.perf_counter()
    subprocess.run(
        [
            str(postgres_tool("pg_dump")),
            "--format=custom",
            "--no-sync",
            f"--schema={schema}",
            "-f",
            os.devnull,
        ],
        check=True,
        env={**os.environ, "PGDATABASE": database},
    )
    return time.perf_counter() - started


def at_scale(database: str, parallel: int, kill_after: int | None) -> None:
    """The probe release over every organisation of ``database`` (see the module doc)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), (SELECT count(*) FROM pg_class), min(schema_name) "
            "FROM tenancy_organization WHERE schema_name <> 'public'"
        )
        orgs, relations, first = cursor.fetchone()
    print(f"database {database}: {orgs} organisations, {relations:,} relations in pg_class")
    dumps = [pg_dump_seconds(database, first) for _ in range(2)]
    print(f"{'pg_dump --schema of one organisation':<46} {min(dumps):8.2f} s (best of 2)")
    with tempfile.TemporaryDirectory(prefix="migrate-bench-") as scratch:
        probe_migrations_write(Path(scratch) / "release")
        backups = Path(scratch) / "backups"
        environment = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.migrations.probe_settings",
            "LL_PROBE_MIGRATIONS_DIR": str(Path(scratch) / "release"),
        }
        arguments = [
            sys.executable,
            "manage.py",
            "safe_migrate",
            "--parallel",
            str(parallel),
            "--no-progress",
            "--backup-dir",
            str(backups),
        ]
        journal = RunJournal(backups)

        def migrated() -> int:
            return sum(1 for entry in journal.lines() if entry["phase"] == "migrated")

        kill_when = (lambda: migrated() >= kill_after) if kill_after else None
        seconds, peak, output, killed = command_run(arguments, environment, kill_when=kill_when)
        label = f"safe_migrate --parallel {parallel} ({orgs + 1} schemas)"
        if killed:
            print(f"{label}: killed after {migrated()} schemas migrated, at {seconds:.1f} s")
            resumed, peak2, output, _ = command_run(arguments, environment)
            print(f"{'  run again (carries on)':<46} {resumed:8.2f} s")
            print("  " + next(line for line in output.splitlines() if "Resuming" in line))
            seconds, peak = seconds + resumed, max(peak, peak2)
        print(f"{label:<46} {seconds:8.2f} s")
        tail = [line for line in output.splitlines() if "verified" in line or " · " in line]
        print("  " + " | ".join(tail) if tail else output[-2000:])
        print(f"{'  peak RSS, command + workers + pg_dump':<46} {peak / 1024 / 1024:8.0f} MB")
        backup_times = [e["seconds"] for e in journal.lines() if e["phase"] == "backed-up"]
        if backup_times:
            backup_times.sort()
            p95 = backup_times[int(0.95 * (len(backup_times) - 1))]
            print(
                f"  backup per schema: median {statistics.median(backup_times):.2f} s, "
                f"p95 {p95:.2f} s, max {backup_times[-1]:.2f} s (the first includes the "
                f"run's one structure dump) over {len(backup_times)} schemas"
            )
        migrated_count = migrated()
        print(f"  schemas migrated (journal): {migrated_count}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orgs", type=int, default=10)
    parser.add_argument("--interactions", type=int, default=10_000)
    parser.add_argument("--parallel", type=int, default=2)
    parser.add_argument("--keep", action="store_true", help="keep the scratch organisations")
    parser.add_argument(
        "--reuse", metavar="DBNAME", help="a copy of a database that holds the organisations"
    )
    parser.add_argument("--kill-after", type=int, metavar="K", help="with --reuse: see above")
    options = parser.parse_args()
    if options.reuse:
        return at_scale(options.reuse, options.parallel, options.kill_after)

    orgs = timed(
        f"set up {options.orgs} orgs × {options.interactions} interactions",
        scratch_orgs,
        options.orgs,
        options.interactions,
    )
    slugs = [org.slug for org in orgs]
    candidate = rollback_candidate()
    print(f"migration rolled back and re-applied: {candidate[0]} after {candidate[1]}")
    try:
        with tempfile.TemporaryDirectory(prefix="migrate-bench-") as backups:
            put_behind(orgs, candidate)
            plan = timed("plan", migration_plan, org_slugs=slugs)
            steps = sum(len(result.changes) for result in plan.results)
            print(f"  {steps} migrations to run over {len(plan.results)} schemas")
            run = timed(
                "backup + migrate + verify (sequential)",
                migrations_run,
                org_slugs=slugs,
                backup_dir=Path(backups) / "sequential",
                progress=False,
            )
            assert run.ok, [result.problems or result.error for result in run.failed]
            print("  " + ", ".join(f"{k} {v:.2f} s" for k, v in run.seconds.items()))
            size = sum(f.stat().st_size for f in (Path(backups) / "sequential").glob("*.dump"))
            print(f"  backups: {size / 1024 / 1024:.1f} MB in {len(run.results)} files")

            put_behind(orgs, candidate)
            run = timed(
                f"backup + migrate + verify (--parallel {options.parallel})",
                migrations_run,
                org_slugs=slugs,
                backup_dir=Path(backups) / "parallel",
                parallel=options.parallel,
                progress=False,
            )
            assert run.ok, [result.problems or result.error for result in run.failed]
            print("  " + ", ".join(f"{k} {v:.2f} s" for k, v in run.seconds.items()))
            check = timed("check (every schema at the latest)", migration_check, org_slugs=slugs)
            assert check.ok
            first = Path(backups) / "parallel" / f"{orgs[0].schema_name}.backup"
            timed(
                f"restore one schema ({options.interactions} interactions)", backup_restore, first
            )
            schema_migrate(orgs[0].schema_name)
    finally:
        connection.set_schema_to_public()
        if not options.keep:
            for org in Organization.objects.filter(slug__in=slugs):
                org.delete(force_drop=True)


if __name__ == "__main__":
    main()
