"""Writes for goals: create and validate, refresh progress, close, extend; daily snapshots."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import NotRequired, TypedDict, Unpack

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, F, OuterRef, QuerySet
from django.utils import timezone

from apps.agents.models import Clone
from apps.crm.models import CLOSED_STAGES, Deal, DealStage
from apps.goals.models import Goal, GoalStatus, PerformanceSnapshot
from apps.goals.selectors import POSITIVE_SCORE, count_of, goals_measured, sum_of
from apps.outcomes.models import DECIDED_STATUSES, OutcomeRecord
from apps.users.models import User


def goal_validate(goal: Goal) -> None:
    """Raise ValidationError with field messages for an invalid goal (rules in Goal.clean)."""
    goal.full_clean(exclude=["current_value", "status"])


@transaction.atomic
def goal_save(*, goal: Goal) -> Goal:
    """Validate and store a goal (new or edited), then bring its progress up to date."""
    goal_validate(goal)
    goal.save()
    goals_progress_refresh(goals=Goal.objects.filter(pk=goal.pk))
    goal.refresh_from_db()
    return goal


class GoalFields(TypedDict):
    name: str
    goal_type: str
    target: Decimal
    period_start: date
    period_end: date
    clone: NotRequired[Clone | None]
    owner: NotRequired[User | None]


def goal_create(**fields: Unpack[GoalFields]) -> Goal:
    """A new goal, validated (``Goal.clean``) and with its progress so far."""
    return goal_save(goal=Goal(**fields))


@transaction.atomic
def goals_progress_refresh(
    *, goals: QuerySet[Goal] | None = None, today: date | None = None
) -> dict[str, int]:
    """Recompute the current value of active goals from the data and move their status.

    Set-based: one statement computes every value (see ``goals_measured``), one UPDATE
    writes them, then one UPDATE completes the goals at or above target and one marks
    those whose period has ended short as missed. Completed and missed goals keep their
    final value.
    """
    now = timezone.now()
    today = today or now.date()
    active = (goals if goals is not None else Goal.objects.all()).filter(status=GoalStatus.ACTIVE)
    measured = goals_measured(active)
    Goal.objects.bulk_update(
        [Goal(pk=pk, current_value=value, progress_updated_at=now) for pk, value in measured],
        ["current_value", "progress_updated_at"],
    )
    ids = [pk for pk, _ in measured]
    completed = Goal.objects.filter(
        pk__in=ids, status=GoalStatus.ACTIVE, current_value__gte=F("target")
    ).update(status=GoalStatus.COMPLETED, completed_at=now)
    missed = Goal.objects.filter(pk__in=ids, status=GoalStatus.ACTIVE, period_end__lt=today).update(
        status=GoalStatus.MISSED
    )
    return {"updated": len(ids), "completed": completed, "missed": missed}


@transaction.atomic
def goals_close(*, goals: QuerySet[Goal]) -> dict[str, int]:
    """End active goals now: completed when at or above target, otherwise missed."""
    ids = list(goals.filter(status=GoalStatus.ACTIVE).values_list("pk", flat=True))
    selected = Goal.objects.filter(pk__in=ids)
    goals_progress_refresh(goals=selected)
    selected.filter(status=GoalStatus.ACTIVE, current_value__gte=F("target")).update(
        status=GoalStatus.COMPLETED, completed_at=timezone.now()
    )
    selected.filter(status=GoalStatus.ACTIVE).update(status=GoalStatus.MISSED)
    counts = dict(selected.values_list("status").annotate(n=Count("pk")).values_list("status", "n"))
    return {
        "completed": counts.get(GoalStatus.COMPLETED, 0),
        "missed": counts.get(GoalStatus.MISSED, 0),
    }


@transaction.atomic
def goals_extend(*, goals: QuerySet[Goal], days: int, today: date | None = None) -> int:
    """Push the end of the goals' periods by ``days``; missed goals still running reopen."""
    if days <= 0:
        raise ValidationError({"days": ["Extend by at least one day."]})
    today = today or timezone.now().date()
    ids = list(goals.exclude(status=GoalStatus.COMPLETED).values_list("pk", flat=True))
    extended = Goal.objects.filter(pk__in=ids).update(
        period_end=F("period_end") + timedelta(days=days)
    )
    Goal.objects.filter(pk__in=ids, status=GoalStatus.MISSED, period_end__gte=today).update(
        status=GoalStatus.ACTIVE
    )
    goals_progress_refresh(goals=Goal.objects.filter(pk__in=ids), today=today)
    return extended


def performance_snapshots_write(*, day: date) -> int:
    """Upsert one PerformanceSnapshot per active clone for ``day`` (UTC). Returns rows written.

    One SELECT computes every clone's figures (correlated subqueries), one INSERT … ON
    CONFLICT writes them; re-running the same day overwrites with fresh figures.
    """
    starts = datetime.combine(day, time.min, tzinfo=UTC)
    ends = starts + timedelta(days=1)
    outcomes = OutcomeRecord.objects.filter(
        clone_id=OuterRef("pk"), occurred_at__gte=starts, occurred_at__lt=ends
    )
    decided = outcomes.filter(status__in=DECIDED_STATUSES)
    owner_deals = Deal.objects.filter(account__owner_id=OuterRef("owner_id"))
    opened = owner_deals.filter(created_at__gte=starts, created_at__lt=ends)
    won = owner_deals.filter(stage=DealStage.CLOSED_WON, closed_at__gte=starts, closed_at__lt=ends)
    figures = {
        "pipeline_value": sum_of(opened.exclude(stage__in=CLOSED_STAGES), "amount"),
        "activity_count": count_of(outcomes),
        "decided_count": count_of(decided),
        "positive_count": count_of(decided.filter(score__gte=POSITIVE_SCORE)),
        "revenue_value": sum_of(won, "amount"),
    }
    rows = Clone.objects.filter(is_active=True).values(clone_id=F("pk"), **figures)
    snapshots = [
        PerformanceSnapshot(
            day=day,
            quality_rate=(
                row["positive_count"] / row["decided_count"] if row["decided_count"] else None
            ),
            **row,
        )
        for row in rows
    ]
    PerformanceSnapshot.objects.bulk_create(
        snapshots,
        update_conflicts=True,
        unique_fields=["clone", "day"],
        update_fields=[*figures, "quality_rate", "updated_at"],
    )
    return len(snapshots)


def goals_hourly_update(*, today: date | None = None) -> str:
    """The periodic job's work: refresh goal progress, then yesterday's and today's snapshots."""
    today = today or timezone.now().date()
    result = goals_progress_refresh(today=today)
    snapshots = sum(
        performance_snapshots_write(day=day) for day in (today - timedelta(days=1), today)
    )
    return (
        f"{result['updated']} goals updated, {result['completed']} completed, "
        f"{result['missed']} missed; {snapshots} snapshots"
    )
