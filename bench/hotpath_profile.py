"""Where the time of one API call goes, in process (no server, no network).

Runs against the database `bench/run.py` filled (BENCH_DATABASE, default ll_bench; run
`make bench` once first), under production settings like the server (no REDIS_URL unless
set: the file cache), and times N requests per operation with Django's test client: the
floor (`/ping`) and the six hot paths of `bench/run.py --hot-only` (rating an output and
deciding an action through the API, getting one outcome and one action, rating inline and
approving in the queue through HTMX with a signed-in session). Prints the median,
the ratio to the floor, the CPU time spent in Python (the part a loaded database does not
blur) and the SQL each operation sends; `--profile [OPERATION]` adds a
pyinstrument profile of one operation (default: the outcome GET; dev extra).

    python bench/hotpath_profile.py [--requests 300] [--profile ["rate an output"]]
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
    parser.add_argument(
        "--profile",
        nargs="?",
        const="get one outcome",
        metavar="OPERATION",
        help="a pyinstrument profile of one operation (default: get one outcome)",
    )
    args = parser.parse_args()
    setup()

    from django.db import connection
    from django.test import Client
    from django.utils.http import urlencode
    from django_tenants.utils import schema_context

    from apps.approvals.models import ActionStatus, ProposedAction
    from apps.feedback.models import FeedbackEntry
    from apps.outcomes.models import OutcomeRecord
    from apps.users.models import User
    from apps.users.services import api_key_create

    n = args.requests
    with schema_context("org_bench"):
        manager = User.objects.get(username="bench-manager")
        agent_key = api_key_create(name="profile agent")[1]
        manager_key = api_key_create(name="profile manager", user=manager)[1]
        outcome_ids = list(OutcomeRecord.objects.order_by("pk").values_list("pk", flat=True))
        rated = set(FeedbackEntry.objects.values_list("outcome_id", flat=True))
        unrated = [pk for pk in outcome_ids if pk not in rated]
        action_id = ProposedAction.objects.values_list("pk", flat=True).first()
        # Pending actions to decide, the API's then the queue's: n + 6 each to time, as many
        # again to profile.
        template = ProposedAction.objects.get(pk=action_id)
        pending = []
        for number in range(4 * (n + 6)):
            template.pk = None
            template.external_id = f"profile-{time.time_ns()}-{number}"
            template.status = ActionStatus.PENDING
            template.decided_by = template.decided_at = None
            template.save(force_insert=True)
            pending.append(template.pk)
    connection.set_schema_to_public()

    host = {"HTTP_HOST": "bench.localhost"}
    agent = Client(HTTP_AUTHORIZATION=f"Bearer {agent_key}", **host)
    manager_api = Client(HTTP_AUTHORIZATION=f"Bearer {manager_key}", **host)
    browser = Client(enforce_csrf_checks=True, **host)
    with schema_context("org_bench"):
        browser.force_login(manager)  # the session row is the organisation's
    connection.set_schema_to_public()
    browser.get("/approvals/")  # sets the CSRF cookie, as the page does for HTMX
    htmx = {
        "HTTP_X_CSRFTOKEN": browser.cookies["ll_csrftoken"].value,
        "HTTP_HX_REQUEST": "true",
    }
    # Sent as HTMX sends a form (urlencoded), not as the test client's default multipart.
    form = {"content_type": "application/x-www-form-urlencoded", **htmx}
    api_actions, queue_actions = pending[: 2 * (n + 6)], pending[2 * (n + 6) :]
    operations = {
        "floor: GET /ping": lambda i: agent.get("/ping"),
        "get one outcome": lambda i: agent.get(f"/api/v1/outcomes/{outcome_ids[i]}/"),
        "rate an output": lambda i: manager_api.post(
            "/api/v1/feedback/",
            {"outcome": unrated[i], "kind": "inline", "rating": 1},
            content_type="application/json",
        ),
    }
    operations |= {
        "decide an action": lambda i: manager_api.post(
            f"/api/v1/actions/{api_actions[i]}/decision/",
            {"decision": "approve", "reason": "Looks right."},
            content_type="application/json",
        ),
        "get one action": lambda i: agent.get(f"/api/v1/actions/{action_id}/"),
        "HTMX rate inline": lambda i: browser.post(
            f"/feedback/outcomes/{outcome_ids[i]}/rate/",
            urlencode({"rating": (-1, 0, 1)[i % 3]}),
            **form,
        ),
        "HTMX approve": lambda i: browser.post(
            f"/approvals/{queue_actions[i]}/decide/", urlencode({"decision": "approve"}), **form
        ),
    }
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

        send = operations[args.profile]
        profiler = Profiler(interval=0.0002)
        with profiler:
            for i in range(n + 6, 2 * n + 6):  # items not used above (a write's are spent)
                send(i)
        print(
            profiler.output_text(
                unicode=True, color=False, show_all=os.environ.get("PROFILE_ALL") == "1"
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
