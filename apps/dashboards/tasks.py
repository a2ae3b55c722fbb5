"""Periodic jobs of the dashboards app."""

from __future__ import annotations

from datetime import timedelta

from apps.dashboards.services import outcome_daily_refresh_recent, pattern_rollup_refresh
from apps.tenancy.periodic import periodic_job


@periodic_job("refresh_analytics", every=timedelta(minutes=5))
def refresh_analytics() -> str:
    """Recompute the daily outcome counts (last 35 days) and the pattern-analytics rollup."""
    daily = outcome_daily_refresh_recent()
    return f"{daily} daily rows, {pattern_rollup_refresh()} action types refreshed"
