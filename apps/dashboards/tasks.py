"""Periodic jobs of the dashboards app."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Expression, Q

from apps.dashboards.services import (
    RECENT_DAYS,
    outcome_daily_refresh_recent,
    pattern_rollup_refresh,
)
from apps.feedback.models import FeedbackEntry, FeedbackKind
from apps.outcomes.models import OutcomeRecord, OutcomeStatus
from apps.outcomes.tasks import outcomes_changed
from apps.tenancy.periodic import any_row, arrived_since, periodic_job


def _analytics_due(since: Expression, now: datetime) -> Q:
    """Outcomes or feedback changed; or the clock moves a figure: an outcome inside the
    daily rows' recent days or the rollup's 7/30-day counts, or one still pending (it will
    be decided)."""
    recent = now - timedelta(days=max(RECENT_DAYS, 30) + 1)
    return (
        outcomes_changed(since)
        | arrived_since(FeedbackEntry, since, "updated_at", kind__in=FeedbackKind.values)
        | Q(any_row(OutcomeRecord, occurred_at__gte=recent))
        | Q(any_row(OutcomeRecord, status=OutcomeStatus.PENDING))
    )


@periodic_job(every=timedelta(minutes=5), has_work=_analytics_due)
def refresh_analytics() -> str:
    """Recompute the daily outcome counts (last 35 days) and the pattern-analytics rollup."""
    daily = outcome_daily_refresh_recent()
    return f"{daily} daily rows, {pattern_rollup_refresh()} action types refreshed"
