"""Periodic jobs of feedback: learning extraction (also refreshes scores and decay)."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Q

from apps.feedback.models import FeedbackEntry, FeedbackKind, Learning, LearningApplication
from apps.feedback.services import learnings_extract
from apps.outcomes.tasks import outcomes_changed
from apps.tenancy.periodic import any_row, arrived_since, periodic_job


# Any learning decays with the clock, so an organisation with learnings always runs; one
# without runs once ratings or outcomes change.
@periodic_job(
    every=timedelta(hours=6),
    has_work=lambda since, now: (
        Q(any_row(Learning))
        | arrived_since(FeedbackEntry, since, "updated_at", kind__in=FeedbackKind.values)
        | arrived_since(LearningApplication, since, "applied_at")
        | outcomes_changed(since)
    ),
)
def extract_learnings() -> str:
    """Extract learnings from rated outputs and refresh every learning's scores and decay."""
    return str(learnings_extract())
