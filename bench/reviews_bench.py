"""Review queues benchmark: the set-based queue fill and the examples query at scale.

Runs in a scratch organisation (its own schema, dropped at the end unless --keep) on the
database of DATABASE_URL — use the machine's PostgreSQL, not the embedded one:

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/ll_bench \\
        .venv/bin/python bench/reviews_bench.py [--outcomes 200000]

Outcomes are generated with INSERT … SELECT generate_series, one a second back from now
(a quarter expired, half resolved two hours after recording). Three queues (10 % of every output, every expired email, 50 % of confident
meeting requests) are filled from empty (first run) and then again with nothing new (the
periodic job's steady state, every 5 minutes); then 2,000 corrections and 20,000 scores
are written and ``GET /api/v1/examples/`` is timed. Nothing here touches ingestion: the
fill is a periodic job, so the bulk ingest figure of bench/outcomes_bench.py is unchanged.
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

from django.db import connection  # noqa: E402
from django_tenants.utils import schema_context  # noqa: E402

from apps.outcomes.models import ActionType  # noqa: E402
from apps.reviews.models import ReviewItem, Rubric  # noqa: E402
from apps.reviews.selectors import examples  # noqa: E402
from apps.reviews.services import queue_save, queues_fill  # noqa: E402
from apps.tenancy.models import Organization  # noqa: E402
from apps.tenancy.services import organization_create, public_tenant_ensure  # noqa: E402
from apps.users.services import user_create  # noqa: E402

SLUG = "benchreviews"


def populate(outcomes: int) -> None:
    user_create(username="rep0", role="rep", password="bench-pw")
    kinds = list(ActionType.objects.order_by("code").values_list("pk", "window_hours"))
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO crm_account (external_id, name, industry, owner_id, created_at, updated_at)
            SELECT 'acc-' || i, 'Account ' || i, 'software', NULL, now(), now()
              FROM generate_series(0, 199) i
            """
        )
        cursor.execute(
            """
            INSERT INTO outcomes_outcomerecord (
                external_id, action_type_id, account_id, predicted_confidence, occurred_at,
                output_text, metadata, status, score, window_ends_at, resolved_at,
                resolution_note, created_at)
            SELECT 'out-' || i, (%(kinds)s::bigint[])[1 + i %% %(kind_count)s],
                   (SELECT min(id) FROM crm_account) + i %% 200, (i %% 10) / 10.0 + 0.05,
                   now() - make_interval(secs => i), 'Hi there, output ' || i, '{}'::jsonb,
                   CASE i %% 4 WHEN 0 THEN 'pending' WHEN 1 THEN 'expired' ELSE 'resolved' END,
                   CASE i %% 4 WHEN 0 THEN NULL WHEN 1 THEN 0.0 ELSE 1.0 END,
                   now() + interval '1 day',
                   CASE WHEN i %% 4 = 0 THEN NULL
                        ELSE now() - make_interval(secs => i) + interval '2 hours' END,
                   '', now() - make_interval(secs => i)
              FROM generate_series(0, %(last)s) i
            """,
            {"kinds": [k for k, _ in kinds], "kind_count": len(kinds), "last": outcomes - 1},
        )
        cursor.execute("ANALYZE outcomes_outcomerecord")


def timed(func) -> tuple[float, object]:
    start = time.perf_counter()
    result = func()
    return (time.perf_counter() - start) * 1000, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outcomes", type=int, default=200_000)
    parser.add_argument("--keep", action="store_true", help="keep the scratch organisation")
    args = parser.parse_args()
    public_tenant_ensure()
    organization = Organization.objects.filter(slug=SLUG).first()
    if organization is not None:
        organization.delete(force_drop=True)
    organization = organization_create(slug=SLUG, name="Reviews bench")
    try:
        with schema_context(organization.schema_name):
            populate(args.outcomes)
            rubric = Rubric.objects.create(
                name="Quality", kind="numeric", min_value=1, max_value=5, step=1
            )
            email = ActionType.objects.get(code="email_sent")
            meeting = ActionType.objects.get(code="meeting_request")
            rules = [
                {"name": "Ten percent", "sample_rate_bp": 1000},
                {"name": "Expired emails", "outcome_status": "expired", "action_types": [email]},
                {
                    "name": "Confident meetings",
                    "sample_rate_bp": 5000,
                    "min_confidence": 0.7,
                    "action_types": [meeting],
                },
            ]
            for rule in rules:
                queue_save(rubrics=[rubric], reviewer_roles=["rep"], is_active=False, **rule)
            from apps.reviews.models import ReviewQueue

            ReviewQueue.objects.update(is_active=True)
            first_ms, admitted = timed(queues_fill)
            steady = [timed(queues_fill)[0] for _ in range(3)]
            assert ReviewItem.objects.count() == admitted
            with connection.cursor() as cursor:
                cursor.execute(
                    """
                    INSERT INTO reviews_correction (outcome_id, author_id, original_text,
                           corrected_text, diff, created_at, updated_at)
                    SELECT o.id, (SELECT min(id) FROM users_user), o.output_text,
                           'Corrected ' || o.id, '', now(), now()
                      FROM outcomes_outcomerecord o ORDER BY o.id LIMIT 2000;
                    INSERT INTO reviews_score (outcome_id, rubric_id, value, source, user_id,
                           evaluator, comment, created_at, updated_at)
                    SELECT o.id, %s, 1 + o.id %% 5, 'api', NULL, 'judge', '', now(), now()
                      FROM outcomes_outcomerecord o ORDER BY o.id DESC LIMIT 20000;
                    """,
                    [rubric.pk],
                )
            examples_ms = [timed(lambda: examples(limit=5))[0] for _ in range(5)]
            typed_ms = [
                timed(lambda: examples(action_type="email_sent", limit=5))[0] for _ in range(5)
            ]
        print(f"{args.outcomes:,} outcomes, 3 queues")
        print(f"queue fill, from empty: {first_ms:.0f} ms, {admitted:,} items admitted")
        print(
            f"queue fill, nothing new (the 5-minute job): median {statistics.median(steady):.0f} ms"
        )
        print(
            f"examples (2,000 corrections, 20,000 scores): median {statistics.median(examples_ms):.0f} ms, "
            f"by action type {statistics.median(typed_ms):.0f} ms"
        )
    finally:
        if not args.keep:
            organization.delete(force_drop=True)


if __name__ == "__main__":
    main()
