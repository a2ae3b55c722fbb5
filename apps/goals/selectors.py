"""Reads for goals: progress computed from the data, set-based, and which goals a user sees.

Scope of a goal: with a clone, outcomes are the clone's and deals are on accounts of the
clone's owner; with only an owner, outcomes are those of the owner's clones and deals
those on the owner's accounts; with neither, the whole organisation counts.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db.models import (
    Case,
    DecimalField,
    Expression,
    F,
    Func,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce, NullIf
from django.db.models.lookups import IsNull

from apps.crm.models import CLOSED_STAGES, Deal, DealStage
from apps.goals.models import Goal, GoalType
from apps.outcomes.models import OutcomeRecord
from apps.users.models import User
from apps.users.roles import Role, can

POSITIVE_SCORE = 0.5
DECIDED = ["resolved", "expired"]
_MONEY = DecimalField(max_digits=14, decimal_places=2)


def sum_of(queryset, field: str) -> Expression:
    """SUM of a field over a correlated subquery, 0 when there are no rows."""
    total = queryset.order_by().annotate(total=Func(F(field), function="SUM")).values("total")
    return Coalesce(Subquery(total, output_field=_MONEY), Value(Decimal("0")), output_field=_MONEY)


def count_of(queryset) -> Expression:
    counted = queryset.order_by().annotate(n=Func(F("pk"), function="COUNT")).values("n")
    return Coalesce(Subquery(counted), Value(0))


def _deals_in_scope(owner_ref: str) -> QuerySet[Deal]:
    return Deal.objects.filter(
        IsNull(OuterRef(owner_ref), True) | Q(account__owner_id=OuterRef(owner_ref))
    )


def _outcomes_in_goal_scope() -> QuerySet[OutcomeRecord]:
    in_period = Q(
        occurred_at__date__gte=OuterRef("period_start"),
        occurred_at__date__lte=OuterRef("period_end"),
    )
    of_clone = Q(clone_id=OuterRef("clone_id"))
    of_owner = IsNull(OuterRef("clone_id"), True) & (
        IsNull(OuterRef("owner_id"), True) | Q(clone__owner_id=OuterRef("owner_id"))
    )
    return OutcomeRecord.objects.filter(in_period).filter(of_clone | of_owner)


def goal_measure_expression() -> Expression:
    """The current value of a goal, as an expression over Goal rows (one subquery per type).

    Needs the ``scope_owner`` annotation (the goal's owner, or its clone's owner).
    """
    open_deals = (
        _deals_in_scope("scope_owner")
        .filter(
            created_at__date__gte=OuterRef("period_start"),
            created_at__date__lte=OuterRef("period_end"),
        )
        .exclude(stage__in=CLOSED_STAGES)
    )
    won_deals = _deals_in_scope("scope_owner").filter(
        stage=DealStage.CLOSED_WON,
        closed_at__date__gte=OuterRef("period_start"),
        closed_at__date__lte=OuterRef("period_end"),
    )
    outcomes = _outcomes_in_goal_scope()
    decided = outcomes.filter(status__in=DECIDED)
    decided_count = count_of(decided)
    positive_count = count_of(decided.filter(score__gte=POSITIVE_SCORE))
    quality_pct = Coalesce(
        Cast(positive_count, _MONEY)
        * Value(Decimal("100"))
        / NullIf(Cast(decided_count, _MONEY), Value(Decimal("0"))),
        Value(Decimal("0")),
        output_field=_MONEY,
    )
    return Case(
        When(goal_type=GoalType.PIPELINE, then=sum_of(open_deals, "amount")),
        When(goal_type=GoalType.ACTIVITY, then=Cast(count_of(outcomes), _MONEY)),
        When(goal_type=GoalType.QUALITY, then=quality_pct),
        When(goal_type=GoalType.REVENUE, then=sum_of(won_deals, "amount")),
        default=Value(Decimal("0")),
        output_field=_MONEY,
    )


def goals_measured(goals: QuerySet[Goal]) -> list[tuple[int, Decimal]]:
    """(goal id, value computed from the data now) for each goal, in one query."""
    return list(
        goals.annotate(scope_owner=Coalesce(F("owner_id"), F("clone__owner_id")))
        .annotate(measured=goal_measure_expression())
        .values_list("pk", "measured")
    )


def goals_visible_to(user) -> QuerySet[Goal]:
    """Reps see team goals and their own (or their clones'); other readers see all."""
    goals = Goal.objects.select_related("clone", "owner")
    if not can(user, "goals.read"):
        return goals.none()
    if isinstance(user, User) and user.role == Role.REP:
        return goals.filter(
            Q(owner=user) | Q(clone__owner=user) | Q(owner__isnull=True, clone__isnull=True)
        )
    return goals


def goals_for_dashboard(user, *, today: date) -> QuerySet[Goal]:
    """Goals running today that the user sees, nearest deadline first (for dashboards)."""
    return goals_visible_to(user).filter(period_start__lte=today, period_end__gte=today)
