"""Sections fed by the other apps: ratings, learnings, insights, approvals, goals, patterns."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.dashboards.periods import Period
from apps.dashboards.selectors import (
    approval_health,
    autonomy_breakdown,
    executive_dashboard_data,
    feedback_distribution,
    goal_attainment,
    goals_for,
    insights_by_severity,
    open_insights_for,
    pattern_analytics,
    rep_dashboard_data,
    top_learnings,
)
from apps.dashboards.services import (
    outcome_daily_refresh_recent,
    outcome_daily_refresh_today,
    pattern_rollup_refresh,
)
from apps.outcomes.models import OutcomeRecord
from tests.factories.approvals import PendingActionFactory
from tests.factories.dashboards import decided_outcome
from tests.factories.feedback import FeedbackEntryFactory, LearningFactory
from tests.factories.goals import GoalFactory
from tests.factories.insights import InsightFactory


@pytest.fixture
def month():
    return Period("30d", timezone.now())


def test_feedback_distribution_counts_each_rating(crafted, rep, manager, month):
    outcomes = list(OutcomeRecord.objects.filter(account=crafted["alpha"]))
    for outcome, rating in zip(outcomes[:3], (1, 1, -1), strict=True):
        FeedbackEntryFactory(outcome=outcome, user=rep, kind="inline", rating=rating)
    FeedbackEntryFactory(outcome=outcomes[0], user=manager, kind="dashboard", rating=4)
    FeedbackEntryFactory(outcome=outcomes[1], user=manager, kind="dashboard", rating=2)

    data = feedback_distribution(month)

    inline = {row["rating"]: row["count"] for row in data["inline"]}
    detailed = {row["rating"]: row["count"] for row in data["detailed"]}
    assert data["inline_total"] == 3
    assert inline == {-1: 1, 0: 0, 1: 2}
    assert data["detailed_total"] == 2
    assert detailed == {5: 0, 4: 1, 3: 0, 2: 1, 1: 0}
    assert data["detailed_average"] == 3.0


def test_top_learnings_come_in_rank_order(org):
    LearningFactory(title="Weak", relevance_score=0.2, confidence_score=0.3)
    LearningFactory(title="Strong", relevance_score=0.9, confidence_score=0.8)
    LearningFactory(title="Retired", relevance_score=1, confidence_score=1, is_active=False)

    titles = [learning["title"] for learning in top_learnings()]

    assert titles == ["Strong", "Weak"]


def test_insights_by_severity_count_only_open_ones(crafted, rep):
    InsightFactory(account=crafted["alpha"], severity="critical", pattern_type="risk_indicator")
    InsightFactory(account=crafted["alpha"], severity="high", pattern_type="buying_signal")
    InsightFactory(account=crafted["beta"], severity="high", pattern_type="risk_indicator")
    InsightFactory(
        account=crafted["beta"],
        severity="low",
        pattern_type="engagement_change",
        status="acted",
        resolved_at=timezone.now(),
    )

    everyone = {level["severity"]: level["count"] for level in insights_by_severity()["levels"]}
    mine = open_insights_for(rep)

    assert everyone == {"critical": 1, "high": 2, "medium": 0, "low": 0}
    assert [insight["severity"] for insight in mine] == ["critical", "high"]
    assert {insight["subject"] for insight in mine} == {"Alpha"}


def test_approval_queue_health(crafted, manager, month):
    now = timezone.now()
    PendingActionFactory(expires_at=now + timedelta(hours=2), account=crafted["alpha"])
    PendingActionFactory(expires_at=now + timedelta(hours=40), account=crafted["alpha"])
    for hours, status in ((1, "approved"), (3, "approved"), (5, "executed")):
        PendingActionFactory(
            account=crafted["beta"],
            status=status,
            proposed_at=now - timedelta(hours=10),
            decided_by=manager,
            decided_at=now - timedelta(hours=10 - hours),
            expires_at=now,
        )

    health = approval_health(month)

    assert health["pending"] == 2
    assert health["expiring_soon"] == 1
    assert health["decided"] == 3
    assert health["median_decision_seconds"] == pytest.approx(3 * 3600, abs=1)
    assert health["approval_rate"] == 1.0


def test_autonomy_rate_splits_proposals_by_how_they_were_handled(crafted, manager, month):
    now = timezone.now()
    for _ in range(3):
        PendingActionFactory(category="autonomous", status="approved", expires_at=None)
    PendingActionFactory(
        category="approval_required", status="approved", decided_by=manager, decided_at=now
    )
    PendingActionFactory(
        category="approval_required",
        status="rejected",
        decided_by=manager,
        decided_at=now,
        decision_reason="Too pushy",
    )
    PendingActionFactory(category="hard_stop", status="blocked", expires_at=None)
    PendingActionFactory(category="approval_required", status="expired")
    PendingActionFactory(category="approval_required", status="pending")

    data = autonomy_breakdown(month)
    counts = {kind["kind"]: kind["count"] for kind in data["kinds"]}

    assert data["total"] == 8
    assert data["autonomy_rate"] == 3 / 8
    assert counts == {
        "autonomous": 3,
        "approved": 1,
        "rejected": 1,
        "blocked": 1,
        "expired": 1,
        "pending": 1,
    }


def test_rep_goals_with_progress(crafted, rep, other_rep):
    GoalFactory(name="Rory's emails", owner=rep, target=Decimal("10"), current_value=Decimal("4"))
    GoalFactory(
        name="Clone activity",
        clone=crafted["clone"],
        target=Decimal("8"),
        current_value=Decimal("8"),
    )
    GoalFactory(name="Sam's goal", owner=other_rep)

    goals = {goal["name"]: goal for goal in goals_for(rep)}

    assert set(goals) == {"Rory's emails", "Clone activity"}
    assert goals["Rory's emails"]["progress"] == 0.4
    assert goals["Clone activity"]["progress"] == 1.0


def test_goal_attainment_over_goals_that_ended_in_the_period(org, month):
    today = timezone.now().date()
    ended = {"period_start": today - timedelta(days=40), "period_end": today - timedelta(days=5)}
    GoalFactory(status="completed", **ended)
    GoalFactory(status="completed", **ended)
    GoalFactory(status="missed", **ended)
    GoalFactory(
        status="missed",
        period_start=today - timedelta(days=90),
        period_end=today - timedelta(days=60),
    )
    GoalFactory(name="Running")

    data = goal_attainment(month)

    assert (data["completed"], data["missed"]) == (2, 1)
    assert data["attainment_rate"] == pytest.approx(2 / 3, abs=1e-4)
    assert [goal["name"] for goal in data["active"]] == ["Running"]
    assert executive_dashboard_data(month)["goals"]["active_count"] == 1


def test_pattern_rollup_per_action_type(crafted, rep, manager):
    email = OutcomeRecord.objects.filter(account=crafted["alpha"], action_type__code="email_sent")
    resolved = list(email.filter(status="resolved"))
    FeedbackEntryFactory(
        outcome=resolved[0],
        user=rep,
        kind="dashboard",
        rating=5,
        likelihood_to_reuse=9,
        would_recommend=True,
    )
    FeedbackEntryFactory(
        outcome=resolved[1],
        user=manager,
        kind="dashboard",
        rating=3,
        likelihood_to_reuse=5,
        would_recommend=False,
    )
    FeedbackEntryFactory(outcome=resolved[1], user=rep, kind="inline", rating=1)

    refreshed = pattern_rollup_refresh()
    rows = {row["action_type"]: row for row in pattern_analytics()}

    assert refreshed == len(rows) >= 4
    assert rows["email_sent"]["total"] == 8
    assert rows["email_sent"]["last_7_days"] == 7
    assert rows["email_sent"]["last_30_days"] == 7
    assert rows["email_sent"]["success_rate"] == pytest.approx(5 / 7)
    assert rows["email_sent"]["ratings"] == 2
    assert rows["email_sent"]["mean_satisfaction"] == 4.0
    assert rows["email_sent"]["mean_likelihood_to_reuse"] == 7.0
    assert rows["email_sent"]["would_recommend"] == 1
    assert rows["meeting_request"]["success_rate"] == 1.0
    assert rows["escalation"]["total"] == 0 and rows["escalation"]["success_rate"] is None


def test_pattern_rollup_refresh_is_idempotent_and_follows_new_data(crafted):
    pattern_rollup_refresh()
    OutcomeRecord.objects.filter(action_type__code="meeting_request").delete()

    pattern_rollup_refresh()
    rows = {row["action_type"]: row for row in pattern_analytics()}

    assert rows["meeting_request"]["total"] == 0
    assert rows["email_sent"]["total"] == 8


def test_refresh_analytics_job_is_registered(crafted):
    from apps.tenancy.periodic import get_job

    job = get_job("refresh_analytics")

    assert "refreshed" in job.func()
    assert job.every == timedelta(minutes=5)


def test_daily_job_follows_late_resolutions_and_backfilled_days(crafted, rep, month):
    pending = OutcomeRecord.objects.get(account=crafted["alpha"], status="pending")
    OutcomeRecord.objects.filter(pk=pending.pk).update(
        status="resolved", score=1.0, resolved_at=timezone.now()
    )
    for _ in range(2):  # two back-filled records on the same day count once each
        decided_outcome(
            account=crafted["alpha"], code="email_sent", status="resolved", days_ago=200
        )
    before = rep_dashboard_data(rep, Period("365d", timezone.now()))["summary"]

    outcome_daily_refresh_recent()
    after = rep_dashboard_data(rep, Period("365d", timezone.now()))["summary"]

    assert (before["outcomes"], before["succeeded"]) == (7, 3)
    assert (after["outcomes"], after["succeeded"]) == (9, 6)


def test_refresh_now_recounts_todays_outcomes(crafted, rep, month):
    decided_outcome(account=crafted["alpha"], code="email_sent", status="resolved", days_ago=0.001)

    outcome_daily_refresh_today()

    assert rep_dashboard_data(rep, month)["summary"]["outcomes"] == 7
