"""Outcome data shaped for dashboard tests: decided or pending, days ago, in bulk."""

from __future__ import annotations

from datetime import timedelta
from itertools import count

from django.db import connection
from django.utils import timezone

from apps.outcomes.models import OutcomeRecord
from tests.factories.outcomes import OutcomeFactory, action_type

_numbers = count(1)


def decided_outcome(
    *,
    account,
    code: str = "email_sent",
    status: str = "resolved",
    score: float | None = None,
    days_ago: float = 1,
    confidence: float = 0.7,
    **extra,
) -> OutcomeRecord:
    """An outcome of ``code`` that happened ``days_ago`` and is resolved, expired or pending."""
    occurred = timezone.now() - timedelta(days=days_ago)
    kind = action_type(code)
    fields = {
        "account": account,
        "action_type": kind,
        "occurred_at": occurred,
        "window_ends_at": occurred + timedelta(hours=kind.window_hours),
        "predicted_confidence": confidence,
        "status": status,
        **extra,
    }
    if status != "pending":
        fields["score"] = score if score is not None else (1.0 if status == "resolved" else 0.0)
        fields["resolved_at"] = occurred + timedelta(hours=1)
    return OutcomeFactory(**fields)


def bulk_outcomes(total: int, *, accounts: list, clones: list | None = None) -> None:
    """``total`` outcomes spread over a year in one INSERT … SELECT generate_series.

    A quarter pending, a quarter expired, half resolved; three action types in turn;
    confidence across all ten bins. Fast enough for the 10,000-row query-count tests and
    the million-row benchmark.
    """
    kinds = [action_type(code) for code in ("email_sent", "meeting_request", "deal_progression")]
    batch = next(_numbers)
    clone_ids = [clone.pk for clone in clones] if clones else [None]
    sql = f"""
        INSERT INTO {OutcomeRecord._meta.db_table} (
            external_id, action_type_id, account_id, clone_id, predicted_confidence,
            occurred_at, output_text, metadata, status, score, window_ends_at, resolved_at,
            resolution_note, created_at)
        SELECT 'bulk-' || %(batch)s || '-' || i,
               (%(kinds)s::bigint[])[1 + i %% 3],
               (%(accounts)s::bigint[])[1 + i %% %(account_count)s],
               (%(clones)s::bigint[])[1 + i %% %(clone_count)s],
               (i %% 10) / 10.0 + 0.05,
               t.occurred,
               'Bulk output', '{{}}'::jsonb,
               CASE i %% 4 WHEN 0 THEN 'pending' WHEN 1 THEN 'expired' ELSE 'resolved' END,
               CASE i %% 4 WHEN 0 THEN NULL WHEN 1 THEN 0.0 ELSE 1.0 END,
               t.occurred + make_interval(hours => (%(windows)s::int[])[1 + i %% 3]),
               CASE i %% 4 WHEN 0 THEN NULL ELSE t.occurred + interval '2 hours' END,
               '', now()
          FROM generate_series(0, %(last)s) AS i,
               LATERAL (SELECT now() - make_interval(hours => (i * 7) %% (24 * 360) + 1) AS occurred) t
    """
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            {
                "batch": batch,
                "kinds": [kind.pk for kind in kinds],
                "windows": [kind.window_hours for kind in kinds],
                "accounts": [account.pk for account in accounts],
                "account_count": len(accounts),
                "clones": clone_ids,
                "clone_count": len(clone_ids),
                "last": total - 1,
            },
        )
