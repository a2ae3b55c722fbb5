"""Periodic jobs of insights: thin wrappers around the services (safe to re-run)."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Exists, Q

from apps.crm.models import CLOSED_STAGES, Deal, Interaction
from apps.insights.models import Insight, InsightStatus
from apps.insights.services import (
    ALERT_RETRY_WINDOW,
    digest_send,
    insight_alerts_retry,
    insights_detect,
)
from apps.tenancy.periodic import any_row, arrived_since, periodic_job

# Longer than any detector's look-back (the settings allow windows up to 365 days).
DETECTION_LOOKBACK = timedelta(days=366)


# Stalled and inactive deals come with the clock: an organisation with an open deal, or an
# interaction inside the detectors' look-back, always runs.
@periodic_job(
    every=timedelta(hours=1),
    has_work=lambda since, now: (
        Q(Exists(Deal.objects.exclude(stage__in=CLOSED_STAGES)))
        | Q(any_row(Interaction, occurred_at__gte=now - DETECTION_LOOKBACK))
        | arrived_since(Interaction, since)
    ),
)
def detect_patterns() -> str:
    """Detect buying signals, risks, engagement changes and cross-account patterns."""
    return str(insights_detect())


@periodic_job(
    every=timedelta(hours=24),
    has_work=lambda since, now: any_row(  # every status: the (status, detected_at) index
        Insight, status__in=InsightStatus.values, detected_at__gt=now - timedelta(hours=24)
    ),
)
def daily_digest() -> str:
    """Email each manager the last 24 h of insights on their team's accounts, by account."""
    return f"{digest_send()} digests sent"


@periodic_job(
    every=timedelta(minutes=5),
    has_work=lambda since, now: any_row(
        Insight, status=InsightStatus.PENDING, detected_at__gte=now - ALERT_RETRY_WINDOW
    ),
)
def deliver_alerts() -> str:
    """Send any immediate insight alert (email, chat) that was missed; never one twice."""
    return f"{insight_alerts_retry()} alerts sent"
