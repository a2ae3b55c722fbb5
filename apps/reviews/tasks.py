"""Periodic jobs of reviews: admit new and newly resolved outcomes into the queues."""

from __future__ import annotations

from datetime import timedelta

from apps.reviews.services import queues_fill
from apps.tenancy.periodic import periodic_job


@periodic_job("fill_review_queues", every=timedelta(minutes=5))
def fill_review_queues() -> str:
    """Admit the outcomes each active queue's rule selects (one set-based statement)."""
    return f"{queues_fill()} admitted"
