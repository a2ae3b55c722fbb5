"""Where the time of one API call goes, in process (no server, no network).

Runs against the database `bench/run.py` filled (BENCH_DATABASE, default ll_bench; run
`make bench` once first), under production settings like the server (no REDIS_URL unless
set: the file cache), and times N requests per operation with Django's test client: the
floor (`/ping`), getting one outcome, rating an output, getting one action. Prints the median,
the ratio to the floor, the CPU time spent in Python (the part a loaded database does not
blur) and the SQL each operation sends; `--profile` adds a pyinstrument
profile of the outcome GET (dev extra).

    python bench/hotpath_profile.py [--requests 300] [--profile]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import DATA, database_url  # noqa: E402


def setup() -> None:
    from ops.serve import production_environment

    os.environ["DATABASE_URL"] = database_url(os.environ.get("BENCH_DATABASE", "ll_bench"))
    production_environment(DATA)
    import django

    django.setup()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    setup()

    from django.db import connection
    from django.test import Client
    from django_tenants.utils import schema_context

    from apps.feedback.models import FeedbackEntry
    from apps.outcomes.models import OutcomeRecord
    from apps.users.models import User
    from apps.users.services import api_key_create

    with schema_context("org_bench"):
        manager = User.objects.get(username="bench-manager")
        agent_key = api_key_create(name="profile agent")[1]
        manager_key = api_key_create(name="profile manager", user=manager)[1]
        outcome_ids = list(OutcomeRecord.objects.order_by("pk").values_list("pk", flat=True))
        rated = set(FeedbackEntry.objects.values_list("outcome_id", flat=True))
        unrated = [pk for pk in outcome_ids if pk not in rated]
        from apps.approvals.models import ProposedAction

        action_id = ProposedAction.objects.values_list("pk", flat=True).first()
    connection.set_schema_to_public()

    host = {"HTTP_HOST": "bench.localhost"}
    agent = Client(HTTP_AUTHORIZATION=f"Bearer {agent_key}", **host)
    manager_api = Client(HTTP_AUTHORIZATION=f"Bearer {manager_key}", **host)
    n = args.requests
    operations = {
        "floor: GET /ping": lambda i: agent.get("/ping"),
        "get one outcome": lambda i: agent.get(f"/api/v1/outcomes/{outcome_ids[i]}/"),
        "rate an output": lambda i: manager_api.post(
            "/api/v1/feedback/",
            {"outcome": unrated[i], "kind": "inline", "rating": 1},
            content_type="application/json",
        ),
    }
    if action_id:
        operations["get one action"] = lambda i: agent.get(f"/api/v1/actions/{action_id}/")
    floor = None
    for label, send in operations.items():
        for i in range(5):
            send(n + i)
        sent: list[str] = []
        with connection.execute_wrapper(
            lambda execute, sql, *a, sent=sent: sent.append(sql) or execute(sql, *a)
        ):
            response = send(n + 5)
        assert response.status_code in (200, 201), (label, response.status_code, response.content)
        samples, cpu = [], []
        for i in range(n):
            started, started_cpu = time.perf_counter(), time.process_time()
            send(i)
            samples.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - started_cpu) * 1000)
        median = statistics.median(samples)
        floor = floor or median
        print(
            f"{label:<22} median {median:6.2f} ms  ({median / floor:4.1f}× floor), "
            f"CPU of this process {statistics.median(cpu):5.2f} ms, {len(sent)} statements"
        )
        for sql in sent:
            print(f"    {sql[:160]}")
    if args.profile:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0002)
        with profiler:
            for i in range(n):
                agent.get(f"/api/v1/outcomes/{outcome_ids[i]}/")
        print(
            profiler.output_text(
                unicode=True, color=False, show_all=os.environ.get("PROFILE_ALL") == "1"
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
