"""Outcome data shaped for dashboard tests: decided or pending, days ago, in bulk."""

from __future__ import annotations

from datetime import timedelta
from itertools import count

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
    """``total`` decided and pending outcomes spread over a year, with one INSERT per 5,000."""
    kinds = [action_type(code) for code in ("email_sent", "meeting_request", "deal_progression")]
    now = timezone.now()
    batch = next(_numbers)
    rows = []
    for index in range(total):
        kind = kinds[index % len(kinds)]
        occurred = now - timedelta(hours=(index * 7) % (24 * 360) + 1)
        state = index % 4
        status = "pending" if state == 0 else ("expired" if state == 1 else "resolved")
        rows.append(
            OutcomeRecord(
                external_id=f"bulk-{batch}-{index}",
                action_type=kind,
                account=accounts[index % len(accounts)],
                clone=clones[index % len(clones)] if clones else None,
                predicted_confidence=(index % 10) / 10 + 0.05,
                occurred_at=occurred,
                window_ends_at=occurred + timedelta(hours=kind.window_hours),
                status=status,
                score=None if status == "pending" else (0.0 if status == "expired" else 1.0),
                resolved_at=None if status == "pending" else occurred + timedelta(hours=2),
                output_text="Bulk output",
            )
        )
    OutcomeRecord.objects.bulk_create(rows, batch_size=5000)
