"""Approvals benchmark: concurrent approvers and the queue page under load.

1. 20 approver threads (each with its own PostgreSQL connection) race over the same
   1,000 pending actions, in different random orders, so most attempts collide.
   Reports decisions/s, conflicts (409s) and double decisions (must be 0).
   ``mixed``: half the approvers decide through the signed links of their approval
   email (POST to the confirmation page), half on the queue page (HTMX POST), both
   through the full HTTP stack, picking from the top of the live queue.
2. The queue page with 500 pending actions: server time (median, p95) and query count.

Run against a real PostgreSQL (a throw-away test database is created and dropped):

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/ll_bench_approvals \
        .venv/bin/python bench/approvals_bench.py [--approvers 20] [--actions 1000]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import threading
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "learning_site.settings")
os.environ.setdefault("DJANGO_DEBUG", "0")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Count  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402
from django_tenants.utils import schema_context  # noqa: E402

from apps.approvals.models import (  # noqa: E402
    ActionEvent,
    ActionStatus,
    ApprovalNotice,
    ProposedAction,
)
from apps.approvals.notifications import approvers_notify, decision_token  # noqa: E402
from apps.approvals.services import DecisionConflict, action_decide  # noqa: E402
from apps.crm.models import Account, Deal  # noqa: E402
from apps.tenancy.services import organization_create, public_tenant_ensure  # noqa: E402
from apps.users.models import User  # noqa: E402


def pending_actions(count: int, accounts: list[Account], prefix: str) -> list[int]:
    now = timezone.now()
    rng = random.Random(count)
    rows = ProposedAction.objects.bulk_create(
        [
            ProposedAction(
                external_id=f"{prefix}-{index}",
                action_type=rng.choice(["email_sent", "meeting_request", "discount_offer"]),
                account=accounts[index % len(accounts)],
                deal=accounts[index % len(accounts)].bench_deal,
                payload={"subject": f"Proposal {index}", "to": "buyer@example.com"},
                rationale="The buyer asked for pricing twice this week.",
                amount=Decimal(rng.randint(50, 400) * 1000),
                confidence=round(rng.uniform(0.3, 0.95), 2),
                category="approval_required",
                status=ActionStatus.PENDING,
                reasons=["Amounts from 50,000: amount is at least 50,000."],
                risk=rng.randint(10, 95),
                proposed_by="agent:bench",
                proposed_at=now - timedelta(hours=rng.uniform(0, 40)),
                expires_at=now + timedelta(hours=rng.uniform(2, 48)),
            )
            for index in range(count)
        ],
        batch_size=1000,
    )
    return [row.pk for row in rows]


def _decide(user: User, action_id: int) -> bool:
    try:
        action_decide(
            action_id=action_id,
            user=user,
            decision="approve" if action_id % 5 else "reject",
            reason="" if action_id % 5 else "Not now",
            via="bench",
        )
        return True
    except DecisionConflict:
        return False


def _http_decide(client: Client, user: User, action_id: int, links: dict) -> bool:
    """One decision over HTTP: by email link (even approver numbers) or on the page."""
    approve = bool(action_id % 5)
    data = {"reason": "" if approve else "Not now"}
    if user.username.endswith(("0", "2", "4", "6", "8")):
        token = links[(user.pk, action_id)]
        response = client.post(f"/approvals/email/{token}/", data)
    else:
        data["decision"] = "approve" if approve else "reject"
        response = client.post(f"/approvals/{action_id}/decide/", data, HTTP_HX_REQUEST="true")
    if response.status_code not in (200, 409, 410):
        raise RuntimeError(f"unexpected {response.status_code} for {action_id}")
    return response.status_code == 200


def race(schema: str, approvers: list[User], ids: list[int], mode: str, links=None) -> dict:
    """``queue``: each approver works the top of the live queue, as on the page (they
    collide when they pick the same item). ``collide``: every approver tries every action,
    in its own order: the worst case, 19 of 20 attempts must lose."""
    barrier = threading.Barrier(len(approvers))
    wins = [0] * len(approvers)
    conflicts = [0] * len(approvers)

    def work(index: int, user: User) -> None:
        rng = random.Random(index)
        client = None
        try:
            with schema_context(schema):
                if mode == "mixed":
                    client = Client(HTTP_HOST=links["host"])
                    if not user.username.endswith(("0", "2", "4", "6", "8")):
                        client.force_login(user)
                barrier.wait()
                if mode == "collide":
                    order = ids[:]
                    rng.shuffle(order)
                    for action_id in order:
                        won = _decide(user, action_id)
                        wins[index] += won
                        conflicts[index] += not won
                    return
                while True:
                    top = list(
                        ProposedAction.objects.filter(status=ActionStatus.PENDING)
                        .order_by("-risk", "pk")
                        .values_list("pk", flat=True)[:50]
                    )
                    if not top:
                        return
                    chosen = rng.choice(top)
                    if client is not None:
                        won = _http_decide(client, user, chosen, links)
                    else:
                        won = _decide(user, chosen)
                    wins[index] += won
                    conflicts[index] += not won
        except BaseException:
            barrier.abort()  # never leave the others waiting for a thread that failed
            raise
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(i, u)) for i, u in enumerate(approvers)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    return {"elapsed": elapsed, "wins": sum(wins), "conflicts": sum(conflicts)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--approvers", type=int, default=20)
    parser.add_argument("--actions", type=int, default=1000)
    parser.add_argument("--queue", type=int, default=500)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument(
        "--modes", default="queue,collide,mixed", help="comma-separated: queue, collide, mixed"
    )
    args = parser.parse_args()

    old_name = connection.creation.create_test_db(verbosity=0, keepdb=False)
    try:
        public_tenant_ensure()
        org = organization_create(slug="benchapprovals", name="Bench Approvals")
        with schema_context(org.schema_name):
            approvers = [
                User.objects.create_user(
                    username=f"approver{i}",
                    password="x",
                    role="manager",
                    email=f"approver{i}@bench.example",
                )
                for i in range(args.approvers)
            ]
            accounts = []
            for index in range(50):
                account = Account.objects.create(
                    external_id=f"b-acc-{index}", name=f"Account {index}"
                )
                account.bench_deal = Deal.objects.create(
                    external_id=f"b-deal-{index}",
                    account=account,
                    name=f"Deal {index}",
                    amount=Decimal("90000"),
                    stage_changed_at=timezone.now(),
                )
                accounts.append(account)

            for mode in args.modes.split(","):
                ProposedAction.objects.all().delete()
                ids = pending_actions(args.actions, accounts, f"race-{mode}")
                links = None
                if mode == "mixed":
                    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
                    started = time.perf_counter()
                    notified = approvers_notify()
                    print(
                        f"[mixed] notify_approvers: {notified.emails} emails, "
                        f"{notified.notices} notices in {time.perf_counter() - started:.1f} s"
                    )
                    links = {
                        "host": f"{org.slug}.localhost",
                        **{
                            (recipient, action): decision_token(
                                notice, "approve" if action % 5 else "reject"
                            )
                            for notice, recipient, action in ApprovalNotice.objects.values_list(
                                "pk", "recipient_id", "action_id"
                            )
                        },
                    }
                result = race(org.schema_name, approvers, ids, mode, links)
                per_action = (
                    ActionEvent.objects.filter(kind__in=["approved", "rejected"])
                    .values("action_id")
                    .annotate(n=Count("pk"))
                )
                doubles = sum(1 for row in per_action if row["n"] > 1)
                decided = ProposedAction.objects.exclude(status=ActionStatus.PENDING).count()
                attempts = result["wins"] + result["conflicts"]
                print(f"[{mode}] {args.approvers} approvers, {args.actions} pending actions")
                print(f"  decisions made:          {result['wins']} (rows decided: {decided})")
                print(f"  conflicts (409):         {result['conflicts']}")
                print(f"  double decisions:        {doubles}")
                print(f"  wall time:               {result['elapsed']:.2f} s")
                print(f"  decisions/s:             {result['wins'] / result['elapsed']:.0f}")
                print(f"  attempts/s:              {attempts / result['elapsed']:.0f}")

            ProposedAction.objects.all().delete()
            pending_actions(args.queue, accounts, "queue")
            client = Client(HTTP_HOST=f"{org.slug}.localhost")
            client.force_login(approvers[0])
            client.get("/approvals/")  # warm up templates and connections
            timings, cpu = [], []
            for _ in range(args.requests):
                started, started_cpu = time.perf_counter(), time.process_time()
                response = client.get("/approvals/")
                timings.append((time.perf_counter() - started) * 1000)
                cpu.append((time.process_time() - started_cpu) * 1000)
                assert response.status_code == 200
            with CaptureQueriesContext(connection) as queries:
                client.get("/approvals/")
            timings.sort()
            print(f"queue page with {args.queue} pending ({args.requests} requests)")
            print(f"  median: {statistics.median(timings):.1f} ms")
            print(f"  p95:    {timings[int(len(timings) * 0.95) - 1]:.1f} ms")
            print(
                f"  median Python CPU time (excludes PostgreSQL): {statistics.median(cpu):.1f} ms"
            )
            print(f"  load average while measuring: {os.getloadavg()[0]:.1f}")
            print(f"  queries per request: {len(queries.captured_queries)}")
    finally:
        connection.set_schema_to_public()
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
