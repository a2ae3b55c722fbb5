"""Periodic jobs of the dashboards app."""

from __future__ import annotations

from datetime import timedelta

from apps.dashboards.services import pattern_rollup_refresh
from apps.tenancy.periodic import periodic_job


@periodic_job("refresh_analytics", every=timedelta(minutes=15))
def refresh_analytics() -> str:
    """Recompute the pattern-analytics rollup (one row per action type)."""
    return f"{pattern_rollup_refresh()} action types refreshed"
