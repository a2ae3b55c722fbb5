"""Progress math per goal type on crafted data, and the automatic status transitions."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.crm.models import Deal
from apps.goals.models import Goal, PerformanceSnapshot
from apps.goals.services import (
    goals_close,
    goals_extend,
    goals_hourly_update,
    goals_progress_refresh,
    performance_snapshots_write,
)
from tests.factories.crm import AccountFactory, DealFactory
from tests.factories.goals import GoalFactory
from tests.factories.outcomes import OutcomeFactory
from tests.factories.personas import CloneFactory

NOW = timezone.now()
IN_PERIOD = NOW - timedelta(days=2)
BEFORE_PERIOD = NOW - timedelta(days=30)


def _refresh(goal: Goal) -> Goal:
    goals_progress_refresh()
    goal.refresh_from_db()
    return goal


def _deal(*, amount: str, created_at, stage: str = "proposal", owner=None, closed_at=None):
    deal = DealFactory(amount=Decimal(amount), stage=stage, account=AccountFactory(owner=owner))
    Deal.objects.filter(pk=deal.pk).update(created_at=created_at, closed_at=closed_at)
    return deal


def _decided(clone=None, *, score: float, status: str = "resolved", occurred_at=IN_PERIOD):
    return OutcomeFactory(
        clone=clone, occurred_at=occurred_at, status=status, score=score, resolved_at=NOW
    )


def test_pipeline_is_open_deal_value_created_in_the_period(org):
    goal = GoalFactory(goal_type="pipeline", target=Decimal("100000"))
    _deal(amount="30000", created_at=IN_PERIOD)
    _deal(amount="12000.50", created_at=IN_PERIOD, stage="prospecting")
    _deal(amount="50000", created_at=IN_PERIOD, stage="closed_won", closed_at=IN_PERIOD)
    _deal(amount="70000", created_at=IN_PERIOD, stage="closed_lost", closed_at=IN_PERIOD)
    _deal(amount="99000", created_at=BEFORE_PERIOD)
    assert _refresh(goal).current_value == Decimal("42000.50")
    assert goal.status == "active" and goal.progress_pct == 42


def test_revenue_is_value_won_in_the_period(org):
    goal = GoalFactory(goal_type="revenue", target=Decimal("100000"))
    _deal(amount="40000", created_at=BEFORE_PERIOD, stage="closed_won", closed_at=IN_PERIOD)
    _deal(amount="25000", created_at=IN_PERIOD, stage="closed_won", closed_at=IN_PERIOD)
    _deal(amount="90000", created_at=BEFORE_PERIOD, stage="closed_won", closed_at=BEFORE_PERIOD)
    _deal(amount="80000", created_at=IN_PERIOD, stage="closed_lost", closed_at=IN_PERIOD)
    _deal(amount="60000", created_at=IN_PERIOD, stage="negotiation")
    assert _refresh(goal).current_value == Decimal("65000")


def test_activity_counts_agent_actions_in_the_period_for_the_clone(org, rep):
    clone = CloneFactory(owner=rep)
    team_goal = GoalFactory(goal_type="activity", target=Decimal("100"))
    clone_goal = GoalFactory(goal_type="activity", target=Decimal("100"), clone=clone)
    OutcomeFactory.create_batch(3, clone=clone, occurred_at=IN_PERIOD)
    OutcomeFactory.create_batch(2, occurred_at=IN_PERIOD)
    OutcomeFactory(clone=clone, occurred_at=BEFORE_PERIOD)
    assert _refresh(clone_goal).current_value == 3
    assert _refresh(team_goal).current_value == 5


def test_owner_goal_counts_the_actions_of_the_owners_clones_and_deals_on_their_accounts(
    org, rep, manager
):
    mine, theirs = CloneFactory(owner=rep), CloneFactory(owner=manager)
    activity = GoalFactory(goal_type="activity", owner=rep)
    pipeline = GoalFactory(goal_type="pipeline", owner=rep, target=Decimal("1000000"))
    OutcomeFactory.create_batch(2, clone=mine, occurred_at=IN_PERIOD)
    OutcomeFactory(clone=theirs, occurred_at=IN_PERIOD)
    _deal(amount="10000", created_at=IN_PERIOD, owner=rep)
    _deal(amount="77000", created_at=IN_PERIOD, owner=manager)
    assert _refresh(activity).current_value == 2
    assert _refresh(pipeline).current_value == Decimal("10000")


def test_quality_is_the_percentage_of_decided_actions_with_a_positive_outcome(org, rep):
    clone = CloneFactory(owner=rep)
    goal = GoalFactory(goal_type="quality", target=Decimal("80"), clone=clone)
    _decided(clone, score=1.0)
    _decided(clone, score=0.5)
    _decided(clone, score=0.2)
    _decided(clone, score=0.0, status="expired")
    OutcomeFactory(clone=clone, occurred_at=IN_PERIOD)  # pending: not decided yet
    _decided(score=1.0)  # another clone's
    assert _refresh(goal).current_value == Decimal("50.00")


def test_quality_without_decided_actions_is_zero_not_an_error(org):
    goal = GoalFactory(goal_type="quality", target=Decimal("50"))
    OutcomeFactory(occurred_at=IN_PERIOD)
    assert _refresh(goal).current_value == 0


def test_goal_completes_by_itself_when_the_target_is_reached(org):
    goal = GoalFactory(goal_type="activity", target=Decimal("3"))
    OutcomeFactory.create_batch(2, occurred_at=IN_PERIOD)
    assert _refresh(goal).status == "active"
    OutcomeFactory(occurred_at=IN_PERIOD)
    goal = _refresh(goal)
    assert goal.status == "completed" and goal.completed_at is not None


def test_goal_is_missed_when_its_period_ends_short(org):
    today = timezone.now().date()
    goal = GoalFactory(
        goal_type="activity",
        target=Decimal("3"),
        period_start=today - timedelta(days=20),
        period_end=today - timedelta(days=1),
    )
    OutcomeFactory(occurred_at=NOW - timedelta(days=5))
    goal = _refresh(goal)
    assert goal.status == "missed" and goal.current_value == 1


def test_goal_reaching_target_on_its_last_day_completes_rather_than_misses(org):
    today = timezone.now().date()
    goal = GoalFactory(
        goal_type="activity",
        target=Decimal("1"),
        period_start=today - timedelta(days=20),
        period_end=today - timedelta(days=1),
    )
    OutcomeFactory(occurred_at=NOW - timedelta(days=3))
    assert _refresh(goal).status == "completed"


def test_completed_and_missed_goals_keep_their_final_value(org):
    goal = GoalFactory(goal_type="activity", status="missed", current_value=Decimal("2"))
    OutcomeFactory.create_batch(4, occurred_at=IN_PERIOD)
    assert _refresh(goal).current_value == 2 and goal.status == "missed"


def test_close_completes_goals_at_target_and_misses_the_rest(org):
    reached = GoalFactory(goal_type="activity", target=Decimal("1"), status="active")
    short = GoalFactory(goal_type="activity", target=Decimal("50"))
    Goal.objects.filter(pk=reached.pk).update(current_value=0)
    OutcomeFactory(occurred_at=IN_PERIOD)
    goals_close(goals=Goal.objects.filter(pk__in=[reached.pk, short.pk]))
    reached.refresh_from_db()
    short.refresh_from_db()
    assert (reached.status, short.status) == ("completed", "missed")


def test_extend_pushes_the_end_and_reopens_a_missed_goal(org):
    today = timezone.now().date()
    goal = GoalFactory(
        goal_type="activity",
        target=Decimal("5"),
        status="missed",
        period_start=today - timedelta(days=20),
        period_end=today - timedelta(days=2),
    )
    goals_extend(goals=Goal.objects.filter(pk=goal.pk), days=7)
    goal.refresh_from_db()
    assert goal.period_end == today + timedelta(days=5) and goal.status == "active"


def test_progress_refresh_runs_a_fixed_number_of_queries(org, django_assert_max_num_queries):
    GoalFactory(goal_type="pipeline", target=Decimal("5"))
    with django_assert_max_num_queries(8):
        goals_progress_refresh()
    for goal_type in ("pipeline", "activity", "quality", "revenue"):
        GoalFactory.create_batch(10, goal_type=goal_type)
    with django_assert_max_num_queries(8):
        result = goals_progress_refresh()
    assert result["updated"] == 41


def test_snapshots_keep_one_row_per_clone_and_day_and_rerunning_updates_it(org, rep):
    clone = CloneFactory(owner=rep)
    CloneFactory(owner=rep, is_active=False)
    today = timezone.now().date()
    _decided(clone, score=1.0, occurred_at=NOW)
    _decided(clone, score=0.0, occurred_at=NOW, status="expired")
    _deal(amount="5000", created_at=NOW, owner=rep)
    _deal(
        amount="8000",
        created_at=NOW - timedelta(days=9),
        stage="closed_won",
        closed_at=NOW,
        owner=rep,
    )

    assert performance_snapshots_write(day=today) == 1
    OutcomeFactory(clone=clone, occurred_at=NOW)
    performance_snapshots_write(day=today)

    snapshot = PerformanceSnapshot.objects.get()
    assert (snapshot.clone, snapshot.day) == (clone, today)
    assert snapshot.activity_count == 3 and snapshot.quality_rate == 0.5
    assert snapshot.pipeline_value == Decimal("5000") and snapshot.revenue_value == Decimal("8000")


def test_hourly_job_updates_goals_and_writes_snapshots_for_yesterday_and_today(org, rep):
    CloneFactory(owner=rep)
    GoalFactory(goal_type="activity", target=Decimal("1"))
    OutcomeFactory(occurred_at=IN_PERIOD)
    summary = goals_hourly_update()
    assert summary == "1 goals updated, 1 completed, 0 missed; 2 snapshots"
    assert PerformanceSnapshot.objects.count() == 2


@pytest.mark.parametrize("goal_type", ["pipeline", "activity", "quality", "revenue"])
def test_goals_of_another_organisation_are_untouched(org, other_org, in_org, goal_type):
    with in_org(other_org):
        theirs = GoalFactory(goal_type=goal_type, target=Decimal("1"))
    OutcomeFactory.create_batch(3, occurred_at=IN_PERIOD)
    goals_progress_refresh()
    with in_org(other_org):
        theirs.refresh_from_db()
        assert theirs.current_value == 0 and theirs.status == "active"


def test_goal_job_is_registered_hourly_and_runs_in_the_org(org):
    from apps.tenancy.periodic import get_job

    job = get_job("update_goal_progress")
    assert job.every == timedelta(hours=1)
    GoalFactory(goal_type="activity", target=Decimal("5"))
    assert job.func().startswith("1 goals updated")
