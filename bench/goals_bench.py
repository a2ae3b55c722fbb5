"""Goals benchmark: progress refresh and daily snapshots over a large organisation.

Builds one scratch organisation with ``--clones`` clones, ``--deals`` deals,
``--outcomes`` outcomes spread over 90 days and ``--goals`` active goals of all four
types (team, owner and clone scoped), then times:

- ``goals_progress_refresh`` (one SELECT computing every goal, one bulk UPDATE, two
  status UPDATEs) — wall time and query count, median of ``--repeat`` runs;
- ``performance_snapshots_write`` for one day (one SELECT, one INSERT … ON CONFLICT);
- the persona editor page of a clone with 50 versions (server time, query count).

Run against a real PostgreSQL (a throw-away test database is created and dropped):

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/ll_bench_goals \\
        .venv/bin/python bench/goals_bench.py [--outcomes 200000] [--goals 500]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "learning_site.settings")
os.environ.setdefault("DJANGO_DEBUG", "0")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.db.models import F  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402
from django_tenants.utils import schema_context  # noqa: E402

from apps.agents.models import Clone  # noqa: E402
from apps.crm.models import Account, Deal  # noqa: E402
from apps.goals.models import Goal  # noqa: E402
from apps.goals.services import goals_progress_refresh, performance_snapshots_write  # noqa: E402
from apps.outcomes.models import ActionType, OutcomeRecord  # noqa: E402
from apps.personas.services import persona_update  # noqa: E402
from apps.tenancy.services import organization_create, public_tenant_ensure  # noqa: E402
from apps.users.models import User  # noqa: E402

STAGES = ["prospecting", "qualification", "proposal", "negotiation", "closed_won", "closed_lost"]


def build(args, rng: random.Random) -> Clone:
    now = timezone.now()
    reps = [
        User.objects.create_user(username=f"rep{i}", password="x", role="rep") for i in range(20)
    ]
    accounts = Account.objects.bulk_create(
        [
            Account(external_id=f"acc-{i}", name=f"Account {i}", owner=reps[i % len(reps)])
            for i in range(2000)
        ]
    )
    deals = []
    for i in range(args.deals):
        stage = rng.choice(STAGES)
        created = now - timedelta(days=rng.uniform(0, 90))
        deals.append(
            Deal(
                external_id=f"deal-{i}",
                account=accounts[i % len(accounts)],
                name=f"Deal {i}",
                stage=stage,
                amount=Decimal(rng.randrange(5, 200) * 1000),
                stage_changed_at=created,
                closed_at=created + timedelta(days=3) if stage.startswith("closed") else None,
            )
        )
    Deal.objects.bulk_create(deals, batch_size=5000)
    Deal.objects.update(created_at=F("stage_changed_at"))  # auto_now_add set them all to now
    clones = Clone.objects.bulk_create(
        [
            Clone(external_id=f"clone-{i}", name=f"Clone {i}", owner=reps[i % len(reps)])
            for i in range(args.clones)
        ]
    )
    action_type = ActionType.objects.get(code="email_sent")
    batch = []
    for i in range(args.outcomes):
        occurred = now - timedelta(hours=rng.uniform(0, 24 * 90))
        status = rng.choice(["pending", "resolved", "resolved", "expired"])
        batch.append(
            OutcomeRecord(
                external_id=f"out-{i}",
                action_type=action_type,
                account=accounts[i % len(accounts)],
                clone=clones[i % len(clones)],
                predicted_confidence=0.6,
                occurred_at=occurred,
                window_ends_at=occurred + timedelta(hours=24),
                status=status,
                score=None if status == "pending" else rng.choice([0.0, 1.0]),
                resolved_at=None if status == "pending" else occurred + timedelta(hours=2),
            )
        )
        if len(batch) == 10_000:
            OutcomeRecord.objects.bulk_create(batch)
            batch = []
    OutcomeRecord.objects.bulk_create(batch)
    today = now.date()
    goals = []
    for i in range(args.goals):
        goal_type = ["pipeline", "activity", "quality", "revenue"][i % 4]
        scope = i % 3
        goals.append(
            Goal(
                name=f"Goal {i}",
                goal_type=goal_type,
                target=Decimal("100") if goal_type == "quality" else Decimal("10000000"),
                period_start=today - timedelta(days=rng.randint(10, 80)),
                period_end=today + timedelta(days=rng.randint(1, 30)),
                clone=clones[i % len(clones)] if scope == 1 else None,
                owner=reps[i % len(reps)] if scope == 2 else None,
            )
        )
    Goal.objects.bulk_create(goals)
    manager = User.objects.create_user(username="maria", password="x", role="manager")
    for value in range(50):
        persona_update(clone=clones[0], user=manager, sliders={"formal_casual": value + 1})
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return clones[0]


def timed(func, repeat: int) -> tuple[float, int]:
    times, queries = [], 0
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as captured:
            start = time.perf_counter()
            func()
            times.append(time.perf_counter() - start)
        queries = len(captured.captured_queries)
    return statistics.median(times), queries


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clones", type=int, default=50)
    parser.add_argument("--deals", type=int, default=20_000)
    parser.add_argument("--outcomes", type=int, default=200_000)
    parser.add_argument("--goals", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    old_name = connection.creation.create_test_db(verbosity=0, keepdb=False)
    try:
        public_tenant_ensure()
        org = organization_create(slug="benchgoals", name="Bench Goals")
        with schema_context(org.schema_name):
            started = time.perf_counter()
            clone = build(args, random.Random(7))
            print(
                f"data: {args.clones} clones, {args.deals} deals, {args.outcomes} outcomes, "
                f"{args.goals} goals (built in {time.perf_counter() - started:.1f} s)"
            )
            refresh, refresh_queries = timed(goals_progress_refresh, args.repeat)
            print(
                f"  goals_progress_refresh:      {refresh * 1000:8.1f} ms, {refresh_queries} queries"
            )
            today = timezone.now().date()
            snapshot, snapshot_queries = timed(
                lambda: performance_snapshots_write(day=today), args.repeat
            )
            print(
                f"  performance_snapshots_write: {snapshot * 1000:8.1f} ms, "
                f"{snapshot_queries} queries ({args.clones} rows upserted)"
            )
            client = Client(HTTP_HOST=f"{org.slug}.localhost")
            client.force_login(User.objects.get(username="maria"))
            page, page_queries = timed(
                lambda: client.get(f"/personas/{clone.external_id}/"), args.repeat
            )
            print(f"  persona editor, 51 versions: {page * 1000:8.1f} ms, {page_queries} queries")
    finally:
        connection.set_schema_to_public()
        connection.creation.destroy_test_db(old_name, verbosity=0, keepdb=False)


if __name__ == "__main__":
    main()
