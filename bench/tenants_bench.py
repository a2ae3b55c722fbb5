"""Many organisations on one PostgreSQL: onboarding, catalog size, backup, memory.

Creates ``--orgs`` organisations (``t0001``, ``t0002``...) in a database of their own, each
with small realistic data: 3 people, 5 accounts with a deal each, 10 interactions, 200
outcomes through the bulk service (one statement) and 20 inline ratings. Then prints:

- ``create_org`` time (``organization_create``: the schema cloned from the template, the
  domain) for the 1st, the median and the Nth organisation, wall and CPU (this process plus
  its PostgreSQL backend, so a machine shared with other work still gives a fair figure);
- database size, catalog size (``pg_class`` rows, the size of ``pg_catalog``);
- ``pg_dump -n <one schema>`` wall time (custom format, data included), median of 3;
- web memory: one gunicorn worker started as ``make serve`` does (production settings;
  ``--worker-class sync`` by default, see below),
  its RSS after one request, after one authenticated API call to every organisation
  (``Host: <slug>.localhost``) and after a second round;
- worker memory: ``run_periodic JOB`` (every organisation in one process, as a worker
  that receives every organisation's task) — its peak RSS for one organisation and for all.

Phases run on an existing database with ``--reuse`` (organisations already there are kept,
missing ones created), so the measuring phases can be repeated without re-creating:

    .venv/bin/python bench/tenants_bench.py --orgs 100                 # builds bench_orgs_100
    .venv/bin/python bench/tenants_bench.py --orgs 1000 --reuse --phases size,dump,web,worker
    .venv/bin/python bench/tenants_bench.py --orgs 100 --database bench_x --drop   # scratch

The database (``bench_orgs_<N>`` by default) is kept unless ``--drop``; it holds the
template schema too, so ``CREATE DATABASE x TEMPLATE bench_orgs_<N>`` gives a copy.
Uses the machine's PostgreSQL (``BENCH_PG_HOST``/``BENCH_PG_PORT``, bench/common.py) and,
for the web server's cache, ``BENCH_REDIS_URL`` (default ``redis://127.0.0.1:6379/3``).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import DATA, ROOT, Server, database_ensure, database_url, free_port  # noqa: E402

PHASES = ("create", "size", "dump", "web", "worker")
PASSWORD = "bench-Password-42"
JOB = "expire_outcomes"


def slug_for(number: int) -> str:
    return f"t{number:04d}"


def agent_key_for(number: int) -> tuple[str, str]:
    """A known agent key per organisation (prefix, raw), so later phases can call the API."""
    prefix = f"{number:08x}"
    return prefix, f"ll_{prefix}_tenants-bench-agent-key-{number}"


def django_setup(database: str) -> None:
    from ops.serve import production_environment

    os.environ["DATABASE_URL"] = database_url(database)
    production_environment(DATA)
    import django

    django.setup()


def backend_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a local process (the PostgreSQL backend of a connection)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def backends_private_mb(database: str) -> float:
    """Private memory (RssAnon) of the other PostgreSQL backends on ``database``, summed:
    a backend caches every relation it touches, so one that visits every schema grows."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()"
            " AND backend_type = 'client backend'",
            [database],
        )
        pids = [pid for (pid,) in cursor.fetchall()]
    connection.close()
    total = 0.0
    for pid in pids:
        try:
            total += rss_mb(pid, "RssAnon")
        except FileNotFoundError:
            pass
    return total


def organization_fill(number: int) -> None:
    """Small realistic data in the current organisation, a fixed number of statements."""
    from django.contrib.auth.hashers import make_password
    from django.utils import timezone

    from apps.crm.models import Account, Deal, Interaction
    from apps.feedback.models import FeedbackEntry
    from apps.outcomes.services import outcomes_record_bulk
    from apps.users.models import ApiKey, User

    prefix, raw = agent_key_for(number)
    if ApiKey.objects.filter(prefix=prefix).exists():
        return  # filled by an earlier run
    global _password_hash
    if "_password_hash" not in globals():
        _password_hash = make_password(PASSWORD)
    now = timezone.now()
    manager, *reps = User.objects.bulk_create(
        [User(username="maria", role="manager", password=_password_hash)]
        + [User(username=name, role="rep", password=_password_hash) for name in ("rory", "sam")]
    )
    User.objects.filter(pk__in=[rep.pk for rep in reps]).update(manager=manager)
    ApiKey.objects.create(
        name="bench agent", prefix=prefix, hashed_key=hashlib.sha256(raw.encode()).hexdigest()
    )
    accounts = Account.objects.bulk_create(
        Account(external_id=f"acc-{i}", name=f"Account {i}", owner=reps[i % 2]) for i in range(5)
    )
    Deal.objects.bulk_create(
        Deal(
            external_id=f"deal-{i}",
            account=account,
            name=f"Deal {i}",
            stage="discovery",
            amount=10_000 + 1_000 * i,
            stage_changed_at=now - timedelta(days=i),
        )
        for i, account in enumerate(accounts)
    )
    Interaction.objects.bulk_create(
        Interaction(
            account=accounts[i % 5],
            channel="email",
            direction="inbound" if i % 2 else "outbound",
            occurred_at=now - timedelta(hours=3 * i),
            summary=f"Message {i}",
        )
        for i in range(10)
    )
    results = outcomes_record_bulk(
        items=[
            {
                "external_id": f"act-{i}",
                "action_type": ["email_sent", "meeting_request", "escalation"][i % 3],
                "account": f"acc-{i % 5}",
                "deal": f"deal-{i % 5}",
                "predicted_confidence": round((i % 100) / 100, 2),
                "output_text": f"Hi, following up on our conversation ({i}).",
                "occurred_at": (now - timedelta(minutes=50 * i)).isoformat(),
            }
            for i in range(200)
        ]
    )
    FeedbackEntry.objects.bulk_create(
        FeedbackEntry(
            outcome_id=result.id,
            user=reps[i % 2],
            kind="inline",
            rating=1 if i % 3 else -1,
            feedback_source="modal",
        )
        for i, result in enumerate(results[:20])
    )


def phase_create(count: int, first_number: int = 1) -> list[str]:
    from django.db import connection, transaction
    from django_tenants.utils import schema_context

    from apps.tenancy.models import Organization
    from apps.tenancy.services import organization_create, public_tenant_ensure, schema_name_for
    from apps.tenancy.template_schema import template_schema_ensure

    public_tenant_ensure()
    # The first organisation after a migration pays for the template; timed apart here.
    built = time.perf_counter()
    template_built = template_schema_ensure()
    built = time.perf_counter() - built
    existing = set(Organization.objects.values_list("slug", flat=True))
    walls, cpus, numbers = [], [], []
    started = time.monotonic()
    (ROOT / "artifacts").mkdir(exist_ok=True)
    timings = (ROOT / "artifacts" / f"tenants-bench-create-{os.getpid()}.csv").open("a")
    for number in range(first_number, count + 1):
        slug = slug_for(number)
        if slug in existing:  # from an earlier run, perhaps stopped before its data
            with schema_context(schema_name_for(slug)), transaction.atomic():
                organization_fill(number)
            continue
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            (backend,) = cursor.fetchone()
        wall, cpu, backend_cpu = (
            time.perf_counter(),
            time.process_time(),
            backend_cpu_seconds(backend),
        )
        organization = organization_create(slug=slug, name=f"Tenant {number}")
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu + backend_cpu_seconds(backend) - backend_cpu)
        numbers.append(number)
        timings.write(f"{number},{walls[-1]:.3f},{cpus[-1]:.3f}\n")
        timings.flush()
        with schema_context(organization.schema_name), transaction.atomic():
            organization_fill(number)
        # A new connection per organisation, as create_org gets from the command or a
        # request: a PostgreSQL backend keeps every relation it touched in its caches
        # (about 0.3 MB per schema), and one that created hundreds of schemas slowed
        # from 2 s to 20 s per create_org here.
        connection.close()
        if number % 50 == 0 or number == count:
            print(
                f"  {number:>5} organisations, last create_org {walls[-1]:.2f} s "
                f"({time.monotonic() - started:.0f} s so far)",
                flush=True,
            )
    if not walls:
        return ["create_org: every organisation already existed (--reuse)"]
    first = "1st" if numbers[0] == 1 else f"#{numbers[0]}"
    lines = [
        f"template schema {'built' if template_built else 'already current'}: {built:.1f} s",
        f"create_org wall: {first} {walls[0]:.2f} s, median {statistics.median(walls):.2f} s, "
        f"#{numbers[-1]} {walls[-1]:.2f} s, median of the last 10% "
        f"{statistics.median(walls[-max(1, len(walls) // 10) :]):.2f} s",
        f"create_org CPU (process + backend): {first} {cpus[0]:.2f} s, median "
        f"{statistics.median(cpus):.2f} s, #{numbers[-1]} {cpus[-1]:.2f} s, median of the last "
        f"10% {statistics.median(cpus[-max(1, len(cpus) // 10) :]):.2f} s",
        f"created {len(walls)} organisations with data in {time.monotonic() - started:.0f} s",
    ]
    return lines


def phase_size() -> list[str]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT pg_database_size(current_database()),
                      (SELECT count(*) FROM pg_class),
                      (SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'org\\_%%'),
                      (SELECT sum(pg_total_relation_size(oid)) FROM pg_class
                        WHERE relnamespace = 'pg_catalog'::regnamespace AND relkind = 'r')"""
        )
        database, relations, schemas, catalog = cursor.fetchone()
    return [
        f"database {database / 2**20:.0f} MB, catalog (pg_catalog) {catalog / 2**20:.0f} MB, "
        f"pg_class {relations:,} rows, {schemas} organisation schemas"
    ]


def phase_dump(database: str) -> list[str]:
    from apps.tenancy.migration_safety.pg_tools import postgres_tool
    from bench.common import PG_HOST, PG_PORT, PG_USER

    pg_dump = str(postgres_tool("pg_dump"))
    env = {**os.environ, "PGHOST": PG_HOST, "PGPORT": PG_PORT, "PGUSER": PG_USER}
    env["PGDATABASE"] = database
    times = []
    with tempfile.TemporaryDirectory() as directory:
        for attempt in range(3):
            started = time.perf_counter()
            subprocess.run(
                [
                    pg_dump,
                    "--format=custom",
                    f"--schema={slug_to_schema(1)}",
                    f"--file={directory}/{attempt}.dump",
                ],
                env=env,
                check=True,
            )
            times.append(time.perf_counter() - started)
        size = Path(f"{directory}/0.dump").stat().st_size
    return [
        f"pg_dump -n {slug_to_schema(1)} (custom format, {size / 2**10:.0f} kB): median "
        f"{statistics.median(times):.2f} s of {', '.join(f'{t:.2f}' for t in times)}"
    ]


def slug_to_schema(number: int) -> str:
    from apps.tenancy.services import schema_name_for

    return schema_name_for(slug_for(number))


def phase_web(database: str, count: int, worker_class: str) -> list[str]:
    import requests

    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url(database),
        "PORT": str(port),
        "WEB_CONCURRENCY": "1",
        "SERVE_WORKER_CLASS": worker_class,
        "API_THROTTLE_RATE": "1000000/minute",
        "LOG_LEVEL": "WARNING",
        "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/3"),
    }
    server = Server(
        "web",
        [sys.executable, "-m", "ops.serve", "--web-only", "--no-migrate", "--no-demo"],
        env=env,
        cwd=ROOT,
        log=ROOT / "artifacts" / "tenants-bench-web.log",
    )
    session = requests.Session()

    def call(number: int) -> None:
        _prefix, key = agent_key_for(number)
        response = session.get(
            f"http://127.0.0.1:{port}/api/v1/outcomes/?limit=5",
            headers={"Host": f"{slug_for(number)}.localhost", "Authorization": f"Bearer {key}"},
            timeout=60,
        )
        if response.status_code != 200:
            raise RuntimeError(f"{slug_for(number)}: {response.status_code} {response.text[:300]}")

    try:
        server.wait_until_up(
            f"http://127.0.0.1:{port}/healthz", headers={"Host": f"{slug_for(1)}.localhost"}
        )
        worker = _gunicorn_worker(server.process.pid)
        call(1)
        one, backend_one = rss_mb(worker), backends_private_mb(database)
        rounds = []
        for _ in range(2):
            started = time.perf_counter()
            for number in range(1, count + 1):
                call(number)
            rounds.append(
                (time.perf_counter() - started, rss_mb(worker), backends_private_mb(database))
            )
    finally:
        server.stop()
    (first_time, after_all, backend_all), (second_time, after_second, backend_second) = rounds
    return [
        f"web worker RSS (1 {worker_class} worker): {one:.0f} MB after 1 organisation, "
        f"{after_all:.0f} MB after all {count} ({(after_all - one) * 1024 / count:.0f} kB per "
        f"organisation), {after_second:.0f} MB after a second round; one API call to each "
        f"organisation {first_time:.1f} s, second round {second_time:.1f} s",
        f"its PostgreSQL backend's private memory (RssAnon): {backend_one:.0f} MB after 1 "
        f"organisation, {backend_all:.0f} MB after all {count}, {backend_second:.0f} MB after "
        "the second round",
    ]


def _gunicorn_worker(supervisor: int) -> int:
    """The gunicorn worker process under ops.serve (the youngest descendant named so)."""
    import psutil

    deadline = time.time() + 60
    while time.time() < deadline:
        workers = [
            child
            for child in psutil.Process(supervisor).children(recursive=True)
            if child.parent() and "gunicorn" in " ".join(child.parent().cmdline())
        ]
        if workers:
            return workers[-1].pid
        time.sleep(0.5)
    raise RuntimeError("no gunicorn worker found")


def phase_worker(database: str, count: int) -> list[str]:
    env = {**os.environ, "DATABASE_URL": database_url(database), "LOG_LEVEL": "WARNING"}
    lines = []
    for label, extra in (("1 organisation", ["--org", slug_for(1)]), (f"all {count}", [])):
        command = [sys.executable, "manage.py", "run_periodic", JOB, *extra]
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
        peak = backend_peak = 0.0
        while process.poll() is None:
            try:
                peak = max(peak, rss_mb(process.pid, "VmHWM"))
            except FileNotFoundError:
                break
            backend_peak = max(backend_peak, backends_private_mb(database))
            time.sleep(0.5)
        if process.wait():
            raise RuntimeError(f"{' '.join(command)} failed")
        lines.append(
            f"run_periodic {JOB} for {label}: {time.perf_counter() - started:.1f} s, "
            f"peak RSS {peak:.0f} MB, its PostgreSQL backend's private memory up to "
            f"{backend_peak:.0f} MB"
        )
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orgs", type=int, default=100)
    parser.add_argument("--database", help="default bench_orgs_<orgs>")
    # Several processes can build one database: --first 501 --to 1000 beside --to 500.
    parser.add_argument("--first", type=int, default=1, help="first organisation to create")
    parser.add_argument("--to", type=int, help="last organisation to create (default --orgs)")
    parser.add_argument("--reuse", action="store_true", help="keep what the database holds")
    parser.add_argument("--drop", action="store_true", help="drop the database at the end")
    # uvicorn workers open a database connection per request and keep it (CONN_MAX_AGE):
    # a round over 1,000 organisations would exceed max_connections. sync reuses one.
    parser.add_argument("--worker-class", default="sync", choices=["sync", "uvicorn"])
    parser.add_argument("--phases", default=",".join(PHASES), help=f"of {', '.join(PHASES)}")
    args = parser.parse_args()
    database = args.database or f"bench_orgs_{args.orgs}"
    phases = [phase.strip() for phase in args.phases.split(",") if phase.strip()]

    if "create" in phases:
        database_ensure(database, fresh=not args.reuse)
        subprocess.run(
            [sys.executable, "manage.py", "migrate_schemas", "--shared", "-v", "0"],
            cwd=ROOT,
            env={**os.environ, "DATABASE_URL": database_url(database)},
            check=True,
        )
    django_setup(database)
    from django.db import connections

    print(f"{args.orgs} organisations, database {database}", flush=True)
    report = []
    for phase in phases:
        print(f"phase {phase}…", flush=True)
        if phase == "create":
            lines = phase_create(args.to or args.orgs, args.first)
        elif phase == "size":
            lines = phase_size()
        elif phase == "dump":
            lines = phase_dump(database)
        elif phase == "web":
            lines = phase_web(database, args.orgs, args.worker_class)
        elif phase == "worker":
            lines = phase_worker(database, args.orgs)
        else:
            raise SystemExit(f"unknown phase {phase}")
        connections.close_all()
        for line in lines:
            print("  " + line, flush=True)
        report += lines
    print("\n" + "\n".join(report))
    if args.drop:
        connections.close_all()
        import psycopg

        with psycopg.connect(database_url("postgres"), autocommit=True) as connection:
            connection.execute(f'DROP DATABASE "{database}" WITH (FORCE)')
    return 0


if __name__ == "__main__":
    sys.exit(main())
