"""Periodic jobs of insights: thin wrappers around the services (safe to re-run)."""

from __future__ import annotations

from datetime import timedelta

from apps.insights.services import digest_send, insight_alerts_retry, insights_detect
from apps.tenancy.periodic import periodic_job


@periodic_job("detect_patterns", every=timedelta(hours=1))
def detect_patterns() -> str:
    """Detect buying signals, risks, engagement changes and cross-account patterns."""
    return str(insights_detect())


@periodic_job("daily_digest", every=timedelta(hours=24))
def daily_digest() -> str:
    """Email each manager the last 24 h of insights on their team's accounts, by account."""
    return f"{digest_send()} digests sent"


@periodic_job("deliver_alerts", every=timedelta(minutes=5))
def deliver_alerts() -> str:
    """Send any immediate insight alert (email, chat) that was missed; never one twice."""
    return f"{insight_alerts_retry()} alerts sent"
