"""The five periodic outcome jobs (cadences from the source documents).

Each runs in one organisation's schema (beat fans out per organisation) and is safe to
re-run: a second run right after the first changes nothing.

Idle checks (``has_work``, one query; see apps.tenancy.periodic): the resolvers run when a
signal or an outcome arrived (or was corrected) since their last run; expiry and deal
scoring are moved by the clock, so they run while a pending outcome's window has closed.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Expression, Q

from apps.crm.models import Channel, Deal, Direction, Interaction
from apps.outcomes.models import OutcomeChange, OutcomeRecord, OutcomeStatus, Signal
from apps.outcomes.services import (
    calibration_recompute,
    outcomes_expire,
    outcomes_resolve_deal_progression,
    outcomes_resolve_engagement,
    outcomes_resolve_immediate_signals,
)
from apps.tenancy.periodic import any_row, arrived_since, periodic_job, ran_since

# The jobs that decide outcomes (pending → resolved / expired) without leaving a timestamp
# of when: what reads decided outcomes runs again after one of them did.
DECIDING_JOBS = [
    "resolve_immediate_signals",
    "resolve_engagement",
    "resolve_deal_progression",
    "expire_outcomes",
]


def outcomes_changed(since: Expression) -> Q:
    """Outcomes recorded, corrected, deleted or restored (their history), or decided by a
    job, since ``since``: the idle check of every job that reads outcomes."""
    return (
        arrived_since(OutcomeRecord, since)
        | arrived_since(OutcomeChange, since)
        | Q(ran_since(DECIDING_JOBS, since))
    )


def _signal_arrived(since: Expression, **interaction: str) -> Q:
    """A signal (interaction) or an outcome arrived, or an outcome was corrected, since."""
    return (
        arrived_since(Interaction, since, **interaction)
        | arrived_since(OutcomeRecord, since)
        | arrived_since(OutcomeChange, since)
    )


@periodic_job(
    every=timedelta(minutes=15),
    has_work=lambda since, now: _signal_arrived(
        since, channel=Channel.EMAIL, direction=Direction.INBOUND
    ),
)
def resolve_immediate_signals() -> str:
    """Resolve sent emails answered by an inbound email inside their window."""
    return f"{outcomes_resolve_immediate_signals()} resolved"


@periodic_job(
    every=timedelta(hours=6),
    has_work=lambda since, now: _signal_arrived(since, channel=Channel.MEETING),
)
def resolve_engagement() -> str:
    """Resolve meeting requests and escalations followed by a meeting inside their window."""
    return f"{outcomes_resolve_engagement()} resolved"


def _deal_scoring_due(since: Expression, now: datetime) -> Q:
    """A deal_progression record's window closed (scored then), or a deal moved (won or
    lost scores early), or an outcome arrived or was corrected."""
    return (
        Q(
            any_row(
                OutcomeRecord,
                status=OutcomeStatus.PENDING,
                action_type__signal=Signal.DEAL_PROGRESSION,
                deal__isnull=False,
                window_ends_at__lte=now,
            )
        )
        | arrived_since(Deal, since, "updated_at")
        | arrived_since(OutcomeRecord, since)
        | arrived_since(OutcomeChange, since)
    )


@periodic_job(every=timedelta(hours=24), has_work=_deal_scoring_due)
def resolve_deal_progression() -> str:
    """Score deal_progression actions by the stages their deal advanced (0.2 per stage)."""
    return f"{outcomes_resolve_deal_progression()} resolved"


@periodic_job(
    every=timedelta(hours=1),
    has_work=lambda since, now: any_row(
        OutcomeRecord,
        status=OutcomeStatus.PENDING,
        window_ends_at__lte=now,
        deleted_at__isnull=True,
    ),
)
def expire_outcomes() -> str:
    """Expire (score 0) pending actions whose window ended without a signal."""
    return f"{outcomes_expire()} expired"


@periodic_job(every=timedelta(hours=6), has_work=lambda since, now: outcomes_changed(since))
def recalibrate() -> str:
    """Recompute the ten calibration bins of every action type."""
    return f"{calibration_recompute()} bins changed"
