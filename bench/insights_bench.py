"""Insights benchmark: pattern detection and the pages over a large organisation.

1. Fills one organisation with ACCOUNTS accounts (6 industries), INTERACTIONS interactions
   each over the last 120 days (with contacts, sentiment, key points) and one deal with a
   stage history per account, using bulk_create.
2. Times ``insights_detect`` (the hourly job) on it, then again (the re-run must create 0).
3. Times the inbox page and the customer view (median, p95 of N requests) and counts their
   queries.

Run against a real PostgreSQL (a throw-away test database is created and dropped):

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/ll_bench_insights \
        .venv/bin/python bench/insights_bench.py [--accounts 2000] [--interactions 40]
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
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402
from django_tenants.utils import schema_context  # noqa: E402

from apps.crm.models import STAGE_ORDER, Account, Deal, DealStageChange, Interaction  # noqa: E402
from apps.insights.models import Insight  # noqa: E402
from apps.insights.services import insights_detect  # noqa: E402
from apps.tenancy.services import organization_create, public_tenant_ensure  # noqa: E402
from apps.users.models import User  # noqa: E402

INDUSTRIES = ["manufacturing", "logistics", "healthcare", "finance", "software", "retail"]
SUMMARIES = [
    "Asked for pricing for 200 seats",
    "Requested a demo for the ops team",
    "Replied: let's talk next week",
    "Asked about the security review",
    "Unhappy about onboarding delays",
    "Wanted a contract template",
    "Quarterly business review",
]
CONTACTS = ["Dana Kim", "Luis Ortega", "Priya Nair", "Tom Berg", "Ana Silva", "Jon Park"]
STAGES = [stage for stage in STAGE_ORDER if stage != "closed_won"]


def fill(accounts: int, per_account: int) -> None:
    rng, now = random.Random(7), timezone.now()
    Account.objects.bulk_create(
        Account(external_id=f"b-{i}", name=f"Bench account {i}", industry=INDUSTRIES[i % 6])
        for i in range(accounts)
    )
    ids = list(Account.objects.order_by("id").values_list("id", flat=True))
    deals = Deal.objects.bulk_create(
        Deal(
            external_id=f"bd-{i}",
            account_id=account_id,
            name=f"Deal {i}",
            stage=rng.choice(STAGES),
            amount=Decimal(rng.randrange(5, 200) * 1000),
            stage_changed_at=now - timedelta(days=rng.randint(1, 80)),
        )
        for i, account_id in enumerate(ids)
    )
    changes = []
    for deal in deals:
        at = now - timedelta(days=150)
        for stage in STAGES[: STAGE_ORDER[deal.stage] + 1]:
            changes.append(DealStageChange(deal=deal, to_stage=stage, changed_at=at))
            at += timedelta(days=rng.randint(3, 25))
    DealStageChange.objects.bulk_create(changes, batch_size=5000)
    rows = []
    for account_id in ids:
        hot = rng.random() < 0.1  # a few accounts get a burst of recent activity
        for _ in range(per_account):
            days = rng.uniform(0, 14) if hot and rng.random() < 0.6 else rng.uniform(0, 120)
            rows.append(
                Interaction(
                    account_id=account_id,
                    channel=rng.choice(["email", "email", "chat", "meeting", "crm"]),
                    direction=rng.choice(["inbound", "outbound"]),
                    occurred_at=now - timedelta(days=days),
                    sentiment=round(rng.uniform(-1, 1), 2),
                    summary=rng.choice(SUMMARIES),
                    key_points=rng.sample(["pricing", "SSO", "budget", "timeline"], 2),
                    contact_name=rng.choice(CONTACTS),
                    contact_title="VP Sales",
                )
            )
        if len(rows) >= 20000:
            Interaction.objects.bulk_create(rows, batch_size=5000)
            rows = []
    Interaction.objects.bulk_create(rows, batch_size=5000)


def timed_requests(client: Client, path: str, count: int) -> tuple[float, float, int]:
    client.get(path)
    times = []
    for _ in range(count):
        started = time.perf_counter()
        response = client.get(path)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.status_code
    with CaptureQueriesContext(connection) as queries:
        client.get(path)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1], len(queries)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=2000)
    parser.add_argument("--interactions", type=int, default=40)
    parser.add_argument("--requests", type=int, default=30)
    args = parser.parse_args()

    old_name = connection.creation.create_test_db(verbosity=0, keepdb=False)
    try:
        public_tenant_ensure()
        org = organization_create(slug="benchinsights", name="Bench Insights")
        with schema_context(org.schema_name):
            started = time.perf_counter()
            fill(args.accounts, args.interactions)
            total = Interaction.objects.count()
            print(
                f"filled {args.accounts} accounts, {total} interactions "
                f"in {time.perf_counter() - started:.1f} s"
            )

            started = time.perf_counter()
            first = insights_detect()
            detect_s = time.perf_counter() - started
            started = time.perf_counter()
            second = insights_detect()
            rerun_s = time.perf_counter() - started
            print(f"detect_patterns: {detect_s * 1000:.0f} ms -> {first}")
            print(f"detect_patterns re-run: {rerun_s * 1000:.0f} ms -> {second}")

            manager = User.objects.create_user("bench-manager", role="manager", password="x")
            client = Client(HTTP_HOST=f"{org.slug}.localhost")
            client.force_login(manager)
            account = Account.objects.filter(insights__isnull=False).first()
            for label, path in [
                (
                    f"inbox ({Insight.objects.filter(status='pending').count()} pending)",
                    "/insights/",
                ),
                ("inbox nav count", "/insights/?count=1"),
                (f"customer view ({args.interactions} interactions)", f"/accounts/{account.pk}/"),
            ]:
                median, p95, queries = timed_requests(client, path, args.requests)
                print(f"{label:<40} median {median:6.1f} ms  p95 {p95:6.1f} ms  {queries} queries")
    finally:
        connection.set_schema_to_public()
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
