"""`make bench`: latency of Learning Loop's hot paths, and a comparison with Label Studio.

Starts the app exactly as `make serve` does (gunicorn, 2 uvicorn workers, production
settings) on the machine's PostgreSQL, in its own database (ll_bench) with a scratch
organisation, fills it through the API, then times N sequential requests per operation
from one client and prints median and p95. Operations whose endpoint does not exist yet
print "n/a: not built".

Then (unless --no-peer) it does the same for Label Studio 1.23.2, installed in its own
virtualenv under .data/peer/ and served by gunicorn with 2 workers on the same PostgreSQL
(database ll_peer_labelstudio), and prints our latency as a ratio of theirs for the
equivalent operations. The table is also written to artifacts/bench.md.

    python bench/run.py [--requests 200] [--bulk-size 1000] [--no-peer] [--worker-class sync]
                        [--hot-only] [--server-root PATH]

Each operation after the floor is timed alternately with the floor (`GET /ping`), and the
table's "× floor" column is the ratio of the two medians: it holds when the machine's load
drifts between operations. BENCH_DATABASE (default ll_bench) and BENCH_REDIS_URL (default
the machine's Redis, db 14; an unreachable URL benches the file cache) choose the stores.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402
    DATA,
    ROOT,
    Server,
    Timing,
    database_ensure,
    database_url,
    free_port,
    measure,
    print_table,
)

# BENCH_DATABASE lets several checkouts bench on one PostgreSQL without sharing a database.
DATABASE = os.environ.get("BENCH_DATABASE", "ll_bench")
SLUG = "bench"
PASSWORD = "bench-Password-42"
NOT_BUILT = "n/a: not built"


def django_setup() -> None:
    """Configure this process like the server (production settings, the bench database)."""
    from ops.serve import production_environment

    os.environ["DATABASE_URL"] = database_url(DATABASE)
    production_environment(DATA)
    import django

    django.setup()


def redis_available() -> str | None:
    """BENCH_REDIS_URL (default: the machine's Redis, db 14) when it answers, else None."""
    url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
    try:
        import redis

        client = redis.Redis.from_url(url, socket_connect_timeout=1)
        client.flushdb()
        return url
    except Exception:  # noqa: BLE001 - no Redis: the server falls back to the file cache
        return None


def route_exists(path: str) -> bool:
    from django.urls import Resolver404, resolve

    try:
        resolve(path, urlconf="learning_site.urls")
        return True
    except Resolver404:
        return False


def scratch_org() -> dict[str, str]:
    """A fresh organisation with a user of each role and two API keys."""
    from django.core.management import call_command
    from django.db import connection
    from django_tenants.utils import schema_context

    from apps.tenancy.models import Organization
    from apps.tenancy.services import organization_create, public_tenant_ensure
    from apps.users.services import api_key_create, user_create

    print("Migrating the bench database…", flush=True)
    call_command("migrate_schemas", interactive=False, verbosity=0)
    public_tenant_ensure()
    old = Organization.objects.filter(slug=SLUG).first()
    if old is not None:
        old.delete(force_drop=True)
    print("Creating the scratch organisation…", flush=True)
    tenant = organization_create(slug=SLUG, name="Bench Co")
    with schema_context(tenant.schema_name):
        manager = user_create(username="bench-manager", role="manager", password=PASSWORD)
        user_create(username="bench-rep", role="rep", password=PASSWORD, manager=manager)
        user_create(username="bench-exec", role="executive", password=PASSWORD)
        keys = {
            "agent": api_key_create(name="bench agent")[1],
            "manager": api_key_create(name="bench manager", user=manager)[1],
        }
    connection.set_schema_to_public()
    connection.close()
    return keys


class Client:
    """Requests to one organisation's host on the local server."""

    def __init__(self, port: int, key: str | None = None):
        self.base = f"http://127.0.0.1:{port}"
        self.session = requests.Session()
        self.session.headers["Host"] = f"{SLUG}.localhost"
        if key:
            self.session.headers["Authorization"] = f"Bearer {key}"

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.session.get(self.base + path, timeout=60, **kwargs)

    def post(self, path: str, json=None, **kwargs) -> requests.Response:
        return self.session.post(self.base + path, json=json, timeout=120, **kwargs)

    def sign_in(self, username: str) -> Client:
        """Session login through the real form. The cookies are Secure (production), so
        they are passed by hand over this plain-http loopback connection."""
        page = self.get("/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        csrf = page.cookies.get("ll_csrftoken")
        response = self.session.post(
            self.base + "/login/",
            data={"username": username, "password": PASSWORD, "csrfmiddlewaretoken": token},
            headers={"Cookie": f"ll_csrftoken={csrf}"},
            allow_redirects=False,
        )
        if response.status_code != 302:
            raise RuntimeError(f"sign-in of {username} failed: {response.status_code}")
        # Login rotates the CSRF token: later form posts send the new one (HTMX's header).
        csrf = response.cookies.get("ll_csrftoken", csrf)
        self.session.headers["Cookie"] = (
            f"ll_session={response.cookies['ll_session']}; ll_csrftoken={csrf}"
        )
        # The jar keeps them too, never to send them here: weighing them cost the client
        # 0.09 ms a request, timed as the server's.
        self.session.cookies.clear()
        self.csrf = csrf
        return self

    def htmx_post(self, path: str, data: dict) -> requests.Response:
        """A form post as HTMX sends it from a page (CSRF header, HX-Request)."""
        headers = {"X-CSRFToken": self.csrf, "HX-Request": "true", "Referer": self.base + "/"}
        return self.session.post(self.base + path, data=data, headers=headers, timeout=60)


def fill(agent: Client, *, outcomes: int, actions: int) -> tuple[list[int], list[int]]:
    """Accounts, outcomes (bulk) and pending actions; returns outcome ids and action ids."""
    for number in range(20):
        agent.post(
            "/api/v1/accounts/",
            {"external_id": f"acc-{number}", "name": f"Account {number}", "industry": "SaaS"},
        ).raise_for_status()
    outcome_ids: list[int] = []
    for start in range(0, outcomes, 1000):
        records = [
            outcome_record(f"seed-{n}", n) for n in range(start, min(outcomes, start + 1000))
        ]
        response = agent.post("/api/v1/outcomes/bulk/", {"outcomes": records})
        response.raise_for_status()
    page = "/api/v1/outcomes/?page_size=100"
    while page and len(outcome_ids) < outcomes:
        body = agent.get(page).json()
        outcome_ids += [row["id"] for row in body["results"]]
        page = body.get("next")
        page = page[page.index("/api/") :] if page else None
    action_ids = []
    if route_exists("/api/v1/actions/"):
        for number in range(actions):
            response = agent.post(
                "/api/v1/actions/",
                {
                    "external_id": f"act-{number}",
                    "action_type": "email_sent",
                    "account": f"acc-{number % 20}",
                    "amount": "60000.00",
                    "rationale": "Large renewal: needs a person's approval.",
                    "confidence": 0.7,
                },
            )
            response.raise_for_status()
            action_ids.append(response.json()["id"])
    return outcome_ids, action_ids


def analyze() -> None:
    """Table statistics for the rows just filled, as autovacuum keeps them on a live
    database: without them the planner guesses, e.g. a decision's UPDATE scanned every
    pending action through the status index instead of reading its row by id."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    connection.close()


def outcome_record(external_id: str, number: int) -> dict:
    return {
        "external_id": external_id,
        "action_type": ["email_sent", "meeting_request", "escalation"][number % 3],
        "account": f"acc-{number % 20}",
        "predicted_confidence": round((number % 100) / 100, 2),
        "output_text": f"Hi, following up on our conversation ({number}).",
    }


def ours(args) -> tuple[list, dict[str, Timing]]:
    database_ensure(DATABASE)
    django_setup()
    keys = scratch_org()
    port = free_port()
    env = {
        **os.environ,
        "PORT": str(port),
        "WEB_CONCURRENCY": "2",
        "SERVE_WORKER_CLASS": args.worker_class,
        "API_THROTTLE_RATE": "1000000/minute",
        "API_THROTTLE_RATE_USER": "1000000/minute",
        "LOG_LEVEL": "WARNING",
    }
    if redis_url := redis_available():
        env["REDIS_URL"] = redis_url  # as in production: cache (throttle counters) on Redis
    server = Server(
        "learning-loop",
        [sys.executable, "-m", "ops.serve", "--web-only", "--no-migrate", "--no-demo"],
        env=env,
        cwd=args.server_root,
        log=ROOT / "artifacts" / "bench-server.log",
    )
    n, warmup = args.requests, 5
    rows: list = []
    named: dict[str, Timing] = {}
    try:
        server.wait_until_up(
            f"http://127.0.0.1:{port}/healthz", headers={"Host": f"{SLUG}.localhost"}
        )
        agent, manager_api = Client(port, keys["agent"]), Client(port, keys["manager"])
        print("Filling the scratch organisation through the API…", flush=True)
        # Actions: half decided through the API, half approved in the queue (HTMX).
        outcome_ids, action_ids = fill(
            agent, outcomes=max(1000, n + warmup), actions=2 * (n + warmup)
        )
        api_actions, queue_actions = action_ids[: n + warmup], action_ids[n + warmup :]
        analyze()
        manager_browser = Client(port).sign_in("bench-manager")
        print("Timing…", flush=True)

        def ping():
            return agent.get("/ping")

        def row(label, path_for_check, send, **kwargs):
            if not route_exists(path_for_check):
                rows.append((label, NOT_BUILT))
                return
            timing = measure(label, send, floor=ping, **kwargs)
            rows.append(timing)
            named[label] = timing

        rows.append(measure("floor: bare Django view (GET /ping)", lambda i: ping(), count=n))
        row(
            "rate an output (POST /api/v1/feedback/)",
            "/api/v1/feedback/",
            lambda i: manager_api.post(
                "/api/v1/feedback/",
                {"outcome": outcome_ids[i], "kind": "inline", "rating": 1},
            ),
            count=n,
        )
        row(
            "decide an action (POST …/actions/{id}/decision/)",
            "/api/v1/actions/1/decision/",
            lambda i: manager_api.post(
                f"/api/v1/actions/{api_actions[i]}/decision/",
                {"decision": "approve", "reason": "Looks right."},
            ),
            count=n,
        )
        row(
            "get one outcome (GET /api/v1/outcomes/{id}/)",
            "/api/v1/outcomes/1/",
            lambda i: agent.get(f"/api/v1/outcomes/{outcome_ids[i % len(outcome_ids)]}/"),
            count=n,
        )
        row(
            "get one action (GET /api/v1/actions/{id}/)",
            "/api/v1/actions/1/",
            lambda i: agent.get(f"/api/v1/actions/{api_actions[i % len(api_actions)]}/"),
            count=n,
        )
        row(
            "rate inline (HTMX POST /feedback/outcomes/{id}/rate/)",
            "/feedback/outcomes/1/rate/",
            lambda i: manager_browser.htmx_post(
                f"/feedback/outcomes/{outcome_ids[i % len(outcome_ids)]}/rate/",
                {"rating": (-1, 0, 1)[i % 3]},
            ),
            count=n,
            expect=(200,),
        )
        row(
            "approve in the queue (HTMX POST /approvals/{id}/decide/)",
            "/approvals/1/decide/",
            lambda i: manager_browser.htmx_post(
                f"/approvals/{queue_actions[i]}/decide/", {"decision": "approve"}
            ),
            count=n,
            expect=(200,),
        )
        if args.hot_only:
            return rows, named
        row(
            "list 50 outcomes (GET /api/v1/outcomes/)",
            "/api/v1/outcomes/",
            lambda i: agent.get("/api/v1/outcomes/?page_size=50"),
            count=n,
        )
        row(
            "record one outcome (POST /api/v1/outcomes/)",
            "/api/v1/outcomes/",
            lambda i: agent.post("/api/v1/outcomes/", outcome_record(f"single-{i}", i)),
            count=n,
        )
        bulk_calls = max(5, n // 20)
        row(
            f"bulk record {args.bulk_size} outcomes (…/outcomes/bulk/)",
            "/api/v1/outcomes/bulk/",
            lambda i: agent.post(
                "/api/v1/outcomes/bulk/",
                {"outcomes": [outcome_record(f"bulk-{i}-{r}", r) for r in range(args.bulk_size)]},
            ),
            count=bulk_calls,
            warmup=1,
        )
        pages = {
            "approval queue page (GET /approvals/)": ("/approvals/", "bench-manager"),
            "rep dashboard page (GET /dashboards/me/)": ("/dashboards/me/", "bench-rep"),
            "manager dashboard page (GET /dashboards/team/)": (
                "/dashboards/team/",
                "bench-manager",
            ),
            "executive dashboard page (GET /dashboards/executive/)": (
                "/dashboards/executive/",
                "bench-exec",
            ),
        }
        browsers: dict[str, Client] = {}
        for label, (path, username) in pages.items():
            if not route_exists(path):
                rows.append((label, NOT_BUILT))
                continue
            if username not in browsers:
                browsers[username] = Client(port).sign_in(username)
            browser = browsers[username]
            row(label, path, lambda i, p=path, b=browser: b.get(p), count=n, expect=(200,))
    finally:
        server.stop()
    return rows, named


PEER_PAIRS = [
    ("submit an annotation", "rate an output (POST /api/v1/feedback/)"),
    ("get one task", "get one outcome (GET /api/v1/outcomes/{id}/)"),
    ("list 50 tasks", "list 50 outcomes (GET /api/v1/outcomes/)"),
]


def peer(args, named: dict[str, Timing]) -> str:
    from bench.peer_labelstudio import LabelStudio, LabelStudioUnavailable

    try:
        with LabelStudio() as label_studio:
            theirs = label_studio.run(requests_per_operation=args.requests)
    except LabelStudioUnavailable as reason:
        text = f"Label Studio comparison: n/a ({reason})"
        print(text, flush=True)
        return text
    rows = list(theirs.values())
    table = print_table(
        f"\nLabel Studio {LabelStudio.VERSION} (gunicorn, 2 sync workers, same PostgreSQL)", rows
    )
    lines = [
        "",
        "| Learning Loop vs Label Studio | ours median ms | theirs median ms | ratio |",
        "|---|---:|---:|---:|",
    ]
    for their_label, our_label in PEER_PAIRS:
        mine, other = named.get(our_label), theirs.get(their_label)
        if mine is None or other is None:
            lines.append(f"| {our_label} vs {their_label} | n/a | n/a | n/a |")
            continue
        lines.append(
            f"| {our_label.split(' (')[0]} vs {their_label} | {mine.median:.1f} | "
            f"{other.median:.1f} | {mine.median / other.median:.2f}× |"
        )
    comparison = "\n".join(lines)
    print(comparison, flush=True)
    return table + "\n" + comparison


def main() -> int:
    parser = argparse.ArgumentParser(description="Learning Loop latency benchmarks")
    parser.add_argument("--requests", type=int, default=200, help="timed requests per operation")
    parser.add_argument("--bulk-size", type=int, default=1000)
    parser.add_argument("--no-peer", action="store_true", help="skip Label Studio")
    parser.add_argument("--worker-class", choices=["uvicorn", "sync"], default="uvicorn")
    parser.add_argument(
        "--hot-only",
        action="store_true",
        help="only the floor and the single-record calls (no lists, bulk, pages, peer)",
    )
    parser.add_argument(
        "--server-root",
        type=Path,
        default=ROOT,
        help="serve another checkout of the same schema, e.g. the commit before a change "
        "(`git worktree add /tmp/before <commit>`), timed by this client",
    )
    args = parser.parse_args()

    started = time.time()
    rows, named = ours(args)
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    pg_version = subprocess.run(
        ["psql", "--version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    header = (
        f"Learning Loop (gunicorn, 2 {args.worker_class} workers, DJANGO_ENV=production, "
        f"cache {'Redis' if redis_available() else 'file-based'}), "
        f"{args.requests} sequential requests per operation, one client\n"
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC · {os.cpu_count()} cores · {cpu} · "
        f"Python {platform.python_version()} · {pg_version or 'PostgreSQL'}\n"
        f"command: make bench BENCH_ARGS='{' '.join(sys.argv[1:])}'"
        + (f"\nserver code: {args.server_root}" if args.server_root != ROOT else "")
    )
    table = print_table(header, rows)
    if not args.no_peer and not args.hot_only:
        table += "\n" + peer(args, named)
    out = ROOT / "artifacts" / "bench.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(table + "\n")
    print(f"\n(written to {out.relative_to(ROOT)}; {time.time() - started:.0f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
