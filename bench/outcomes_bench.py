"""Outcomes benchmark: bulk ingestion, set-based resolution and expiry against a naive loop.

Runs in a scratch organisation (its own schema, dropped at the end) on the database of
DATABASE_URL — use the machine's PostgreSQL, not the embedded one:

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/ll_bench \\
        .venv/bin/python bench/outcomes_bench.py [--pending 1000000] [--naive 10000]

Prints:
- bulk ingestion in outcomes/s, through the service (``outcomes_record_bulk``, 1,000 per
  call, as the bulk endpoint does) and end to end through ``POST /api/v1/outcomes/bulk/``
  (the whole Django stack: middleware, key authentication, DRF parsing and rendering; no
  socket). Each is measured with one stream, and with ``--streams`` processes posting at
  once, as the web workers of a server do (``make serve`` runs 2, WEB_CONCURRENCY);
- the time to resolve and to expire ``--pending`` pending records with the set-based jobs;
- the same work done by a naive per-row ORM loop on ``--naive`` rows, scaled linearly to
  ``--pending``, and the ratio (target: set-based ≥ 50× faster).

Populations for the resolution runs are generated with one INSERT … SELECT generate_series
(loading them is not what is measured). Half the accounts have an inbound email inside the
windows; each reply answers one email (the most recent before it), so one record per such
account resolves and the rest are the expiry's work — but the resolver still examines
every pending record and every reply in its window.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from datetime import timedelta
from functools import partial
from multiprocessing import get_context
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "learning_site.settings")

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402
from django_tenants.utils import schema_context  # noqa: E402

from apps.crm.models import Account, Interaction  # noqa: E402
from apps.outcomes.models import ActionType, OutcomeRecord  # noqa: E402
from apps.outcomes.services import (  # noqa: E402
    outcomes_expire,
    outcomes_record_bulk,
    outcomes_resolve_immediate_signals,
)
from apps.tenancy.services import organization_create, public_tenant_ensure  # noqa: E402
from apps.users.services import api_key_create  # noqa: E402


def timed(label: str, func, *args, **kwargs):
    start = time.perf_counter()
    result = func(*args, **kwargs)
    elapsed = time.perf_counter() - start
    print(f"  {label:<58} {elapsed:9.2f} s", flush=True)
    return result, elapsed


def make_accounts(count: int, now) -> list[Account]:
    accounts = Account.objects.bulk_create(
        Account(external_id=f"bench-acc-{n}", name=f"Bench account {n}") for n in range(count)
    )
    noise = []
    for index, account in enumerate(accounts):
        for step in range(4):  # outbound mail and chats: signals that resolve nothing
            noise.append(
                Interaction(
                    account=account,
                    channel="email" if step % 2 else "chat",
                    direction="outbound",
                    occurred_at=now - timedelta(hours=step * 5 + 1),
                )
            )
        if index % 2 == 0:  # half the accounts answered by email inside the windows
            noise.append(
                Interaction(
                    account=account,
                    channel="email",
                    direction="inbound",
                    occurred_at=now - timedelta(minutes=1),
                    summary="Replied",
                )
            )
    Interaction.objects.bulk_create(noise, batch_size=5000)
    with connection.cursor() as cursor:  # as autovacuum would, in production
        cursor.execute("ANALYZE crm_account")
        cursor.execute("ANALYZE crm_interaction")
    return accounts


def items(prefix: str, count: int, accounts: list[str], now) -> list[dict]:
    return [
        {
            "external_id": f"{prefix}-{n}",
            "action_type": "email_sent",
            "account": accounts[n % len(accounts)],
            "predicted_confidence": (n % 100) / 100,
            "occurred_at": now - timedelta(minutes=n % 600),
            "output_text": "Hi Dana, here is the pricing for 200 seats you asked about.",
            "metadata": {"model": "bench"},
        }
        for n in range(count)
    ]


def backend_cpu_seconds() -> float | None:
    """CPU time used so far by this connection's PostgreSQL backend (same machine only)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def batches_of(data: list[dict]) -> list[list[dict]]:
    return [data[i : i + 1000] for i in range(0, len(data), 1000)]


def ingest_service(batches: list[list[dict]]) -> int:
    created = 0
    for batch in batches:
        created += sum(r.status == "created" for r in outcomes_record_bulk(items=batch))
    return created


def request_bodies(batches: list[list[dict]]) -> list[str]:
    """The JSON an agent sends, encoded up front: that work is the agent's, not the server's."""
    return [
        json.dumps({"outcomes": batch}, default=lambda value: value.isoformat())
        for batch in batches
    ]


def ingest_api(client: Client, key: str, bodies: list[str]) -> int:
    created = 0
    for body in bodies:
        response = client.post(
            "/api/v1/outcomes/bulk/",
            data=body,
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {key}",
        )
        assert response.status_code == 200, response.content[:300]
        created += response.json()["created"]
    return created


def _stream(job: dict) -> tuple[int, float]:
    """One ingesting process (forked, with its own connection): (created, seconds)."""
    batches = batches_of(items(job["prefix"], job["count"], job["accounts"], timezone.now()))
    if job["api"]:
        client = Client(HTTP_HOST=f"{job['slug']}.localhost")
        client.get("/api/v1/outcomes/", HTTP_AUTHORIZATION=f"Bearer {job['key']}")  # warm up
        ingest, work = partial(ingest_api, client, job["key"]), request_bodies(batches)
    else:
        connection.set_schema(job["schema"])
        ingest, work = ingest_service, batches
    while time.time() < job["start_at"]:  # every stream starts at the same moment
        time.sleep(0.001)
    start = time.perf_counter()
    created = ingest(work)
    return created, time.perf_counter() - start


def ingest_concurrently(streams: int, count: int, accounts: list[str], **job) -> float:
    """``streams`` processes each ingesting ``count`` outcomes at once; outcomes/s overall."""
    schema = connection.schema_name
    connection.close()  # each forked process opens its own
    start_at = time.time() + 2
    jobs = [
        dict(job, prefix=f"{job['prefix']}{n}", count=count, accounts=accounts)
        | {"start_at": start_at, "schema": schema}
        for n in range(streams)
    ]
    with get_context("fork").Pool(streams) as pool:
        finished = pool.map(_stream, jobs)
    connection.set_schema(schema)
    created = sum(created for created, _ in finished)
    return created / max(seconds for _, seconds in finished)


def load_pending(count: int, action_type: ActionType, now, prefix: str) -> None:
    """``count`` pending email_sent records, occurred 2-20 h ago on the bench accounts."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO outcomes_outcomerecord (
                external_id, action_type_id, account_id, predicted_confidence, occurred_at,
                window_ends_at, output_text, metadata, status, resolution_note, created_at)
            SELECT %(prefix)s || g, %(type)s, a.first_id + g %% a.n, (g %% 100) / 100.0,
                   t.occurred, t.occurred + interval '24 hours', '', '{}'::jsonb, 'pending', '',
                   %(now)s
            FROM generate_series(1, %(count)s) AS g
            CROSS JOIN (SELECT MIN(id) AS first_id, COUNT(*) AS n FROM crm_account) AS a
            CROSS JOIN LATERAL (
                SELECT %(now)s - (interval '2 hours' + (g %% 1080) * interval '1 minute')
                    AS occurred) AS t
            """,
            {"prefix": prefix, "type": action_type.pk, "now": now, "count": count},
        )
        cursor.execute("ANALYZE outcomes_outcomerecord")


def reset_to_pending() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE outcomes_outcomerecord SET status = 'pending', score = NULL,"
            " resolved_at = NULL, resolving_interaction_id = NULL, resolution_note = ''"
        )
        cursor.execute("VACUUM ANALYZE outcomes_outcomerecord")


def truncate() -> None:
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE outcomes_outcomerecord CASCADE")


def _naive_answers(record: OutcomeRecord, signal: Interaction) -> bool:
    """The attribution rule row by row: does this reply answer this record?"""
    if signal.in_reply_to:
        return signal.in_reply_to == record.external_id
    candidates = OutcomeRecord.objects.filter(
        account_id=record.account_id,
        action_type_id=record.action_type_id,
        occurred_at__lt=signal.occurred_at,
        window_ends_at__gte=signal.occurred_at,
    )

    def rank(candidate: OutcomeRecord) -> tuple:
        contact = candidate.metadata.get("contact", "")
        return (
            bool(signal.contact) and contact == signal.contact,
            candidate.occurred_at,
            candidate.pk,
        )

    best = max(candidates, key=rank, default=None)
    used = OutcomeRecord.objects.filter(resolving_interaction=signal).exists()
    return best is not None and best.pk == record.pk and not used


def _naive_signal(record: OutcomeRecord) -> Interaction | None:
    for signal in Interaction.objects.filter(
        account_id=record.account_id,
        channel="email",
        direction="inbound",
        occurred_at__gt=record.occurred_at,
        occurred_at__lte=record.window_ends_at,
    ).order_by("occurred_at", "id"):
        if _naive_answers(record, signal):
            return signal
    return None


def naive_resolve() -> int:
    """The obvious per-row loop: one transaction, lock and signal query per record."""
    resolved = 0
    for record in OutcomeRecord.objects.filter(status="pending").select_related("action_type"):
        with transaction.atomic():
            locked = OutcomeRecord.objects.select_for_update().get(pk=record.pk)
            if locked.status != "pending":
                continue
            signal = _naive_signal(locked)
            if signal is not None:
                locked.status, locked.score = "resolved", 1.0
                locked.resolved_at, locked.resolving_interaction = signal.occurred_at, signal
                locked.save(
                    update_fields=["status", "score", "resolved_at", "resolving_interaction"]
                )
                resolved += 1
    return resolved


def naive_expire(now) -> int:
    expired = 0
    for record in OutcomeRecord.objects.filter(status="pending", window_ends_at__lte=now):
        if _naive_signal(record) is None:
            record.status, record.score, record.resolved_at = "expired", 0.0, record.window_ends_at
            record.save(update_fields=["status", "score", "resolved_at"])
            expired += 1
    return expired


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=5000)
    parser.add_argument(
        "--ingest", type=int, default=100_000, help="records for the service ingest"
    )
    parser.add_argument("--api-ingest", type=int, default=20_000, help="records through the API")
    parser.add_argument("--rounds", type=int, default=3, help="ingestion rounds (median)")
    parser.add_argument(
        "--streams", type=int, default=os.cpu_count() or 2, help="concurrent ingesting processes"
    )
    parser.add_argument("--pending", type=int, default=1_000_000)
    parser.add_argument("--naive", type=int, default=10_000)
    parser.add_argument("--keep", action="store_true", help="keep the scratch organisation")
    args = parser.parse_args()

    public_tenant_ensure()
    slug = f"benchout{os.getpid()}"
    print(f"Scratch organisation {slug} on {connection.settings_dict['NAME']}")
    org = organization_create(slug=slug, name="Outcomes bench")
    try:
        with schema_context(org.schema_name):
            run(args, slug)
    finally:
        connection.set_schema_to_public()
        if not args.keep:
            org.delete(force_drop=True)


def ingest_round(args, number: int, accounts: list[str], key: str, slug: str, now) -> dict:
    """One round of the four ingestion measurements (outcomes/s, and outcomes per CPU-second)."""
    print(f"\nIngestion, round {number + 1} of {args.rounds}")
    data = items(f"ing{number}-", args.ingest, accounts, now)
    server_before, client_before = backend_cpu_seconds(), time.process_time()
    created, seconds = timed(
        f"service, 1 stream: {args.ingest} outcomes in calls of 1,000",
        ingest_service,
        batches_of(data),
    )
    client_cpu, server_after = time.process_time() - client_before, backend_cpu_seconds()
    rates = {"service": created / seconds, "cpu": 0.0}  # 0: not measurable here
    print(f"  {'→ service ingest, 1 stream':<58} {rates['service']:9,.0f} outcomes/s")
    if server_before is not None and server_after is not None:
        server_cpu = server_after - server_before
        rates["cpu"] = created / (client_cpu + server_cpu)
        label = f"  CPU: client {client_cpu:.2f} s, PostgreSQL backend {server_cpu:.2f} s"
        print(f"  {label:<58} {rates['cpu']:9,.0f} outcomes/s of CPU")
    per_stream = args.ingest // args.streams
    rates["service_streams"] = ingest_concurrently(
        args.streams, per_stream, accounts, prefix=f"ings{number}-", api=False
    )
    label = f"→ service ingest, {args.streams} streams × {per_stream}"
    print(f"  {label:<58} {rates['service_streams']:9,.0f} outcomes/s")

    client = Client(HTTP_HOST=f"{slug}.localhost")
    data = items(f"api{number}-", args.api_ingest, accounts, now)
    created, seconds = timed(
        f"API, 1 stream: {args.api_ingest} outcomes, POST /outcomes/bulk/ × 1,000",
        ingest_api,
        client,
        key,
        request_bodies(batches_of(data)),
    )
    rates["api"] = created / seconds
    print(f"  {'→ API ingest, 1 stream':<58} {rates['api']:9,.0f} outcomes/s")
    per_stream = args.api_ingest // args.streams
    rates["api_streams"] = ingest_concurrently(
        args.streams, per_stream, accounts, prefix=f"apis{number}-", api=True, key=key, slug=slug
    )
    label = f"→ API ingest, {args.streams} streams × {per_stream}"
    print(f"  {label:<58} {rates['api_streams']:9,.0f} outcomes/s")
    return rates


def run(args, slug: str) -> None:
    now = timezone.now()
    email = ActionType.objects.get(code="email_sent")
    accounts, _ = timed(
        f"create {args.accounts} accounts + interactions", make_accounts, args.accounts, now
    )

    accounts = [account.external_id for account in accounts]
    _, key = api_key_create(name="bench agent")
    rounds = [ingest_round(args, n, accounts, key, slug, now) for n in range(args.rounds)]
    ingest = {name: statistics.median(r[name] for r in rounds) for name in rounds[0]}
    truncate()

    print(f"\nNaive per-row ORM loop on {args.naive} pending records")
    load_pending(args.naive, email, now, "naive-")
    naive_resolved, naive_resolve_s = timed("naive resolve", naive_resolve)
    reset_to_pending()
    small_resolved, small_resolve_s = timed(
        "set-based resolve (same rows)", outcomes_resolve_immediate_signals
    )
    assert small_resolved == naive_resolved, (small_resolved, naive_resolved)
    reset_to_pending()
    later = now + timedelta(hours=48)
    naive_expired, naive_expire_s = timed("naive expire", naive_expire, later)
    reset_to_pending()
    small_expired, small_expire_s = timed(
        "set-based expire (same rows)", outcomes_expire, now=later
    )
    assert small_expired == naive_expired, (small_expired, naive_expired)
    truncate()

    print(f"\nSet-based jobs on {args.pending:,} pending records")
    timed(
        f"load {args.pending:,} pending records (generate_series)",
        load_pending,
        args.pending,
        email,
        now,
        "p-",
    )
    resolved, resolve_s = timed(
        "resolve_immediate_signals (SKIP LOCKED, chunks of 5,000)",
        outcomes_resolve_immediate_signals,
    )
    reset_to_pending()
    expired, expire_s = timed(
        "expire_outcomes (one UPDATE, window ended)", outcomes_expire, now=later
    )
    truncate()

    scale = args.pending / args.naive
    print(f"\nResults (ingestion: median of {args.rounds} rounds)")
    print(
        f"  bulk ingest, service          {ingest['service_streams']:12,.0f} outcomes/s"
        f"  ({args.streams} streams; target ≥ 20,000)"
    )
    print(f"  bulk ingest, service          {ingest['service']:12,.0f} outcomes/s  (1 stream)")
    if ingest["cpu"]:
        print(
            f"  bulk ingest per CPU-second    {ingest['cpu']:12,.0f} outcomes/s"
            "  (client + database CPU, independent of the machine's load)"
        )
    print(
        f"  bulk ingest, API              {ingest['api_streams']:12,.0f} outcomes/s"
        f"  ({args.streams} streams)"
    )
    print(f"  bulk ingest, API              {ingest['api']:12,.0f} outcomes/s  (1 stream)")
    print(f"  resolution of {args.pending:,} pending  {resolve_s:10.1f} s  ({resolved:,} resolved)")
    print(
        f"  expiry of {args.pending:,} pending      {expire_s:10.1f} s  ({expired:,} expired, the rest had a signal)"
    )
    print(
        f"  naive resolve, {args.naive:,} rows {naive_resolve_s:8.1f} s → scaled ×{scale:g}: {naive_resolve_s * scale:9.0f} s"
        f"  ratio {naive_resolve_s * scale / resolve_s:6.0f}×  (same {args.naive:,} rows: {naive_resolve_s / small_resolve_s:.0f}×)"
    )
    print(
        f"  naive expire, {args.naive:,} rows  {naive_expire_s:8.1f} s → scaled ×{scale:g}: {naive_expire_s * scale:9.0f} s"
        f"  ratio {naive_expire_s * scale / expire_s:6.0f}×  (same {args.naive:,} rows: {naive_expire_s / small_expire_s:.0f}×)"
    )


if __name__ == "__main__":
    main()
