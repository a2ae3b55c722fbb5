"""Dashboards benchmark: server time of each dashboard and analytics endpoint, uncached and cached.

Runs in a scratch organisation (its own schema, dropped at the end unless --keep) on the
database of DATABASE_URL — use the machine's PostgreSQL, not the embedded one:

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/ll_bench \\
        .venv/bin/python bench/dashboards_bench.py [--outcomes 1000000] [--feedback 200000]

The population is generated with INSERT … SELECT generate_series (loading is not what is
measured): 10 reps with 20 accounts each, 20 clones, 400 deals, ``--outcomes`` outcomes
spread over a year (a quarter pending, a quarter expired, half resolved), ``--feedback``
ratings (inline and detailed, with the detailed dimensions), 2,000 insights, 20,000
proposed actions and 30 goals; then the calibration job and the analytics summaries (timed) run once.

Each page and endpoint is requested in-process through Django's test client (server time:
routing, session, queries, rendering; no network). "uncached" passes ``refresh=1`` (every
query runs); "cached" is the 5-minute cache hit. Median and p95 over ``--runs`` requests.
Targets (issue 8): ≤ 150 ms uncached, ≤ 15 ms cached.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "learning_site.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402
from django_tenants.utils import schema_context  # noqa: E402

from apps.dashboards.services import (  # noqa: E402
    outcome_daily_refresh,
    outcome_daily_refresh_recent,
    pattern_rollup_refresh,
)
from apps.outcomes.models import ActionType  # noqa: E402
from apps.tenancy.models import Organization  # noqa: E402
from apps.tenancy.services import organization_create, public_tenant_ensure  # noqa: E402
from apps.users.models import User  # noqa: E402
from apps.users.services import api_key_create, user_create  # noqa: E402

SLUG = "benchdash"
TARGET_UNCACHED_MS, TARGET_CACHED_MS = 150, 15


def populate(outcomes: int, feedback: int) -> None:
    manager = user_create(username="maria", role="manager", password="bench-pw")
    user_create(username="erin", role="executive", password="bench-pw")
    for n in range(10):
        user_create(username=f"rep{n}", role="rep", password="bench-pw", manager=manager)
    kinds = list(ActionType.objects.order_by("code").values_list("pk", "window_hours"))
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO crm_account (external_id, name, industry, owner_id, created_at, updated_at)
            SELECT 'acc-' || i, 'Account ' || i, (ARRAY['software','retail','finance'])[1 + i % 3],
                   (SELECT id FROM users_user WHERE username = 'rep' || (i % 10)), now(), now()
              FROM generate_series(0, 199) i;
            INSERT INTO personas_clone (external_id, name, owner_id, is_active, formal_casual,
                   concise_detailed, technical_business, proactive_reactive, custom_instructions,
                   created_at, updated_at)
            SELECT 'clone-' || i, 'Clone ' || i,
                   (SELECT id FROM users_user WHERE username = 'rep' || (i % 10)),
                   true, 50, 50, 50, 50, '', now(), now()
              FROM generate_series(0, 19) i;
            INSERT INTO crm_deal (external_id, account_id, name, stage, amount, stage_changed_at,
                   closed_at, created_at, updated_at)
            SELECT 'deal-' || i, (SELECT min(id) FROM crm_account) + i % 200, 'Deal ' || i,
                   (ARRAY['prospecting','qualification','discovery','proposal','negotiation',
                          'closed_won','closed_lost'])[1 + i % 7],
                   1000 * (5 + i % 50), now() - make_interval(days => i % 300),
                   CASE WHEN i % 7 IN (5, 6) THEN now() - make_interval(days => i % 300) END,
                   now(), now()
              FROM generate_series(0, 399) i;
            """
        )
        cursor.execute(
            """
            INSERT INTO outcomes_outcomerecord (
                external_id, action_type_id, account_id, clone_id, deal_id, predicted_confidence,
                occurred_at, output_text, metadata, status, score, window_ends_at, resolved_at,
                resolution_note, created_at)
            SELECT 'out-' || i,
                   (%(kinds)s::bigint[])[1 + i %% %(kind_count)s],
                   (SELECT min(id) FROM crm_account) + i %% 200,
                   CASE WHEN i %% 5 = 0 THEN NULL ELSE (SELECT min(id) FROM personas_clone) + i %% 20 END,
                   CASE WHEN i %% 9 = 0 THEN (SELECT min(id) FROM crm_deal) + i %% 400 END,
                   (i %% 10) / 10.0 + 0.05,
                   t.occurred, 'Hi there, following up on our call.', '{}'::jsonb,
                   CASE WHEN t.occurred > now() - interval '1 day' OR i %% 4 = 0 THEN 'pending'
                        WHEN i %% 4 = 1 THEN 'expired' ELSE 'resolved' END,
                   CASE WHEN t.occurred > now() - interval '1 day' OR i %% 4 = 0 THEN NULL
                        WHEN i %% 4 = 1 THEN 0.0 ELSE 1.0 END,
                   t.occurred + make_interval(hours => (%(windows)s::int[])[1 + i %% %(kind_count)s]),
                   CASE WHEN t.occurred > now() - interval '1 day' OR i %% 4 = 0 THEN NULL
                        ELSE t.occurred + interval '2 hours' END,
                   '', now()
              FROM generate_series(0, %(last)s) i,
                   LATERAL (SELECT now() - make_interval(secs => (i * 31.0) %% (365 * 86400)) AS occurred) t
            """,
            {
                "kinds": [k for k, _ in kinds],
                "windows": [w for _, w in kinds],
                "kind_count": len(kinds),
                "last": outcomes - 1,
            },
        )
        cursor.execute(
            """
            INSERT INTO feedback_feedbackentry (outcome_id, user_id, kind, rating, comment,
                   usefulness, quality, clarity, likelihood_to_reuse, would_recommend,
                   created_at, updated_at)
            SELECT o.id, (SELECT min(id) FROM users_user) + i %% 12,
                   CASE WHEN i %% 3 = 0 THEN 'dashboard' ELSE 'inline' END,
                   CASE WHEN i %% 3 = 0 THEN 1 + i %% 5 ELSE (i %% 3) - 1 END, '',
                   NULL, NULL, NULL,
                   CASE WHEN i %% 3 = 0 THEN 1 + i %% 10 END,
                   CASE WHEN i %% 3 = 0 THEN i %% 2 = 0 END,
                   o.occurred_at + interval '1 hour', o.occurred_at + interval '1 hour'
              FROM generate_series(0, %(last)s) i
              JOIN outcomes_outcomerecord o ON o.external_id = 'out-' || (i * 5)
            """,
            {"last": feedback - 1},
        )
        cursor.execute(
            """
            INSERT INTO insights_insight (account_id, industry, pattern_type, signal, title,
                   confidence, severity, evidence, status, detected_at, resolved_at,
                   dismiss_reason, resolution_note)
            SELECT (SELECT min(id) FROM crm_account) + i % 200, '',
                   (ARRAY['buying_signal','risk_indicator','engagement_change'])[1 + (i / 200) % 3],
                   'bench', 'Insight ' || i, 0.7,
                   (ARRAY['low','medium','high','critical'])[1 + i % 4], '{}'::jsonb,
                   CASE WHEN i < 600 THEN 'pending' ELSE 'acted' END,
                   now() - make_interval(hours => i),
                   CASE WHEN i < 600 THEN NULL ELSE now() - make_interval(hours => i - 1) END,
                   '', ''
              FROM generate_series(0, 1999) i;
            """
        )
        cursor.execute(
            """
            INSERT INTO approvals_proposedaction (external_id, action_type, account_id, payload,
                   rationale, category, status, reasons, risk, proposed_by, proposed_at,
                   expires_at, decided_by_id, decided_at, decision_reason, updated_at)
            SELECT 'prop-' || i, 'email_sent', (SELECT min(id) FROM crm_account) + i % 200,
                   '{}'::jsonb, '',
                   CASE i % 5 WHEN 0 THEN 'autonomous' WHEN 4 THEN 'hard_stop'
                        ELSE 'approval_required' END,
                   CASE i % 5 WHEN 0 THEN 'approved' WHEN 1 THEN 'approved' WHEN 2 THEN 'rejected'
                        WHEN 3 THEN CASE WHEN i % 2 = 0 THEN 'pending' ELSE 'expired' END
                        ELSE 'blocked' END,
                   '[]'::jsonb, i % 100, 'agent', t.at,
                   CASE WHEN i % 5 = 3 THEN t.at + interval '48 hours' END,
                   CASE WHEN i % 5 IN (1, 2) THEN (SELECT id FROM users_user WHERE username = 'maria') END,
                   CASE WHEN i % 5 IN (1, 2) THEN t.at + make_interval(mins => i % 600) END,
                   CASE WHEN i % 5 = 2 THEN 'Not now' ELSE '' END, now()
              FROM generate_series(0, 19999) i,
                   LATERAL (SELECT now() - make_interval(mins => i * 26) AS at) t
            """
        )
        cursor.execute(
            """
            INSERT INTO goals_goal (name, goal_type, target, current_value, period_start,
                   period_end, owner_id, status, created_at, updated_at)
            SELECT 'Goal ' || i, (ARRAY['activity','quality','pipeline','revenue'])[1 + i % 4],
                   100, i * 3, current_date - 20 - i * 5, current_date + 10 - i * 5,
                   (SELECT id FROM users_user WHERE username = 'rep' || (i % 10)),
                   CASE WHEN i < 2 THEN 'active' WHEN i % 2 = 0 THEN 'completed' ELSE 'missed' END,
                   now(), now()
              FROM generate_series(0, 29) i
            """
        )
        cursor.execute("ANALYZE")


def measure(client: Client, url: str, runs: int) -> list[float]:
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        response = client.get(url)
        timings.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return timings


def summary(timings: list[float]) -> str:
    ordered = sorted(timings)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return f"{statistics.median(ordered):8.1f} {p95:8.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outcomes", type=int, default=1_000_000)
    parser.add_argument("--feedback", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--keep", action="store_true", help="keep the scratch organisation")
    args = parser.parse_args()
    setup_test_environment()
    settings.ALLOWED_HOSTS = ["*"]

    public_tenant_ensure()
    organization = Organization.objects.filter(slug=SLUG).first()
    fresh = organization is None
    if fresh:
        organization = organization_create(slug=SLUG, name="Dashboards bench")
    try:
        with schema_context(organization.schema_name):
            if fresh:
                start = time.perf_counter()
                populate(args.outcomes, args.feedback)
                print(f"populated in {time.perf_counter() - start:.1f} s", flush=True)
                from apps.tenancy.periodic import get_job

                get_job("recalibrate").func()
            start = time.perf_counter()
            outcome_daily_refresh()
            daily_ms = (time.perf_counter() - start) * 1000
            start = time.perf_counter()
            outcome_daily_refresh_recent()
            recent_ms = (time.perf_counter() - start) * 1000
            start = time.perf_counter()
            pattern_rollup_refresh()
            rollup_ms = (time.perf_counter() - start) * 1000
            counts = {
                "outcomes": connection.cursor()
                .execute("SELECT count(*) FROM outcomes_outcomerecord")
                .fetchone()[0],
                "feedback": connection.cursor()
                .execute("SELECT count(*) FROM feedback_feedbackentry")
                .fetchone()[0],
            }
            key = api_key_create(name="bench", user=User.objects.get(username="erin"))[1]
            rep = User.objects.get(username="rep3")
            executive = User.objects.get(username="erin")
        host = f"{SLUG}.localhost"
        pages = Client(HTTP_HOST=host)
        reps = Client(HTTP_HOST=host)
        with schema_context(organization.schema_name):
            pages.force_login(executive)
            reps.force_login(rep)
        api = Client(HTTP_HOST=host, HTTP_AUTHORIZATION=f"Bearer {key}")
        print(
            f"\n{counts['outcomes']:,} outcomes, {counts['feedback']:,} feedback entries; "
            f"daily summary: full rebuild {daily_ms:.0f} ms, the job's last 35 days {recent_ms:.0f} ms; "
            f"pattern rollup {rollup_ms:.0f} ms\n"
        )
        print(
            f"{'page / endpoint':<44} {'uncached median p95 (ms)':>26} {'cached median p95 (ms)':>24}"
        )
        rows = [
            ("rep dashboard (rep, 30 days)", reps, "/dashboards/me/"),
            ("team dashboard (30 days)", pages, "/dashboards/team/"),
            ("executive dashboard (30 days)", pages, "/dashboards/executive/"),
            ("executive dashboard (90 days)", pages, "/dashboards/executive/?period=90d"),
            ("executive dashboard (365 days)", pages, "/dashboards/executive/?period=365d"),
            ("GET /api/v1/analytics/manager/", api, "/api/v1/analytics/manager/"),
            ("GET /api/v1/analytics/executive/", api, "/api/v1/analytics/executive/"),
            (
                "GET /api/v1/analytics/trends/ (success)",
                api,
                "/api/v1/analytics/trends/?metric=success_rate",
            ),
            ("GET /api/v1/analytics/patterns/", api, "/api/v1/analytics/patterns/"),
        ]
        for label, client, url in rows:
            joiner = "&" if "?" in url else "?"
            measure(client, url, 2)  # warm connections and the plan cache
            uncached = measure(client, f"{url}{joiner}refresh=1", args.runs)
            cached = measure(client, url, args.runs * 3)
            flag = ""
            if (
                statistics.median(uncached) > TARGET_UNCACHED_MS
                or statistics.median(cached) > TARGET_CACHED_MS
            ):
                flag = "  (over target)"
            print(f"{label:<44} {summary(uncached):>26} {summary(cached):>24}{flag}", flush=True)
    finally:
        connection.set_schema_to_public()
        if not args.keep:
            organization.delete(force_drop=True)


if __name__ == "__main__":
    main()
