"""Periodic jobs of reviews: admit new and newly resolved outcomes into the queues."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Q

from apps.outcomes.models import OutcomeRecord
from apps.reviews.models import ReviewQueue
from apps.reviews.services import queues_fill
from apps.tenancy.periodic import any_row, arrived_since, periodic_job


# What the fill itself admits: a new active queue takes every matching outcome; an active
# queue takes outcomes created or resolved since its last fill.
@periodic_job(
    every=timedelta(minutes=5),
    has_work=lambda since, now: (
        Q(any_row(ReviewQueue, is_active=True, filled_at__isnull=True))
        | (
            Q(any_row(ReviewQueue, is_active=True))
            & arrived_since(OutcomeRecord, since, "created_at", "resolved_at")
        )
    ),
)
def fill_review_queues() -> str:
    """Admit the outcomes each active queue's rule selects (one set-based statement)."""
    return f"{queues_fill()} admitted"
