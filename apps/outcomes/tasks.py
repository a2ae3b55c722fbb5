"""The five periodic outcome jobs (cadences from the source documents).

Each runs in one organisation's schema (beat fans out per organisation) and is safe to
re-run: a second run right after the first changes nothing.
"""

from __future__ import annotations

from datetime import timedelta

from apps.outcomes.services import (
    calibration_recompute,
    outcomes_expire,
    outcomes_resolve_deal_progression,
    outcomes_resolve_engagement,
    outcomes_resolve_immediate_signals,
)
from apps.tenancy.periodic import periodic_job


@periodic_job("resolve_immediate_signals", every=timedelta(minutes=15))
def resolve_immediate_signals() -> str:
    """Resolve sent emails answered by an inbound email inside their window."""
    return f"{outcomes_resolve_immediate_signals()} resolved"


@periodic_job("resolve_engagement", every=timedelta(hours=6))
def resolve_engagement() -> str:
    """Resolve meeting requests and escalations followed by a meeting inside their window."""
    return f"{outcomes_resolve_engagement()} resolved"


@periodic_job("resolve_deal_progression", every=timedelta(hours=24))
def resolve_deal_progression() -> str:
    """Score deal_progression actions by the stages their deal advanced (0.2 per stage)."""
    return f"{outcomes_resolve_deal_progression()} resolved"


@periodic_job("expire_outcomes", every=timedelta(hours=1))
def expire_outcomes() -> str:
    """Expire (score 0) pending actions whose window ended without a signal."""
    return f"{outcomes_expire()} expired"


@periodic_job("recalibrate", every=timedelta(hours=6))
def recalibrate() -> str:
    """Recompute the ten calibration bins of every action type."""
    return f"{calibration_recompute()} bins changed"
