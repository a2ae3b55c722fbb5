"""Pattern analytics of source 003: the fuller rollup, one pattern's detail, feedback trends."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.dashboards.selectors import pattern_analytics
from apps.dashboards.services import pattern_rollup_refresh
from apps.outcomes.models import OutcomeRecord
from tests.conftest import OTHER_HOST
from tests.factories.dashboards import decided_outcome
from tests.factories.feedback import FeedbackEntryFactory

BASE = "/api/v1/analytics"


@pytest.fixture
def rated(crafted, rep, manager, other_rep):
    """Detailed ratings on email_sent: two on Alpha (Rory's), one on Beta (Sam's)."""
    alpha = list(
        OutcomeRecord.objects.filter(
            account=crafted["alpha"], action_type__code="email_sent", status="resolved"
        )
    )
    beta = OutcomeRecord.objects.filter(account=crafted["beta"]).first()
    FeedbackEntryFactory(
        outcome=alpha[0], user=rep, kind="dashboard", rating=5, usefulness=4, comment="Spot on"
    )
    FeedbackEntryFactory(outcome=alpha[1], user=manager, kind="dashboard", rating=2, usefulness=2)
    FeedbackEntryFactory(
        outcome=beta, user=other_rep, kind="dashboard", rating=4, comment="Sam's private note"
    )
    return crafted


def test_the_rollup_carries_failed_count_mean_usefulness_and_last_activity(rated):
    pattern_rollup_refresh()
    email = {row["action_type"]: row for row in pattern_analytics()}["email_sent"]

    assert email["failed"] == 2  # Alpha's two expired emails (one 40 days ago)
    assert email["succeeded"] == 5
    assert email["mean_usefulness"] == 3.0
    last = OutcomeRecord.objects.filter(action_type__code="email_sent").latest("occurred_at")
    assert email["last_activity_at"] >= last.occurred_at.isoformat()


def test_pattern_detail_gives_rollup_recent_feedback_and_weekly_trend(rated, manager_api):
    pattern_rollup_refresh()

    response = manager_api.get(f"{BASE}/patterns/email_sent/")

    assert response.status_code == 200
    data = response.data
    assert data["rollup"]["failed"] == 2 and data["rollup"]["ratings"] == 3
    comments = [entry["comment"] for entry in data["recent_feedback"]]
    assert sorted(comments) == ["", "Sam's private note", "Spot on"]
    assert data["recent_feedback"][0]["updated_at"] >= data["recent_feedback"][-1]["updated_at"]
    weeks = data["weekly_trend"]
    assert 13 <= len(weeks) <= 14
    this_week = weeks[-1]
    assert this_week["satisfaction"] == pytest.approx(11 / 3, abs=1e-3)
    assert this_week["ratings"] == 3
    assert sum(week["outcomes"] for week in weeks) == 8  # the 40-day-old one included
    assert any(week["success_rate"] is not None for week in weeks)


def test_pattern_detail_keeps_only_the_last_twenty_ratings(crafted, rep, manager_api):
    outcomes = [
        decided_outcome(account=crafted["alpha"], code="escalation", days_ago=1) for _ in range(25)
    ]
    for number, outcome in enumerate(outcomes):
        FeedbackEntryFactory(
            outcome=outcome, user=rep, kind="inline", rating=1, comment=f"note {number}"
        )

    data = manager_api.get(f"{BASE}/patterns/escalation/").data

    assert len(data["recent_feedback"]) == 20
    assert data["recent_feedback"][0]["comment"] == "note 24"


def test_a_rep_sees_only_feedback_on_their_accounts(rated, api_client, rep_key):
    data = api_client(rep_key).get(f"{BASE}/patterns/email_sent/").data

    assert "Sam's private note" not in [entry["comment"] for entry in data["recent_feedback"]]
    assert len(data["recent_feedback"]) == 2


def test_unknown_action_type_is_404(crafted, manager_api):
    assert manager_api.get(f"{BASE}/patterns/no_such_type/").status_code == 404


def test_pattern_detail_needs_a_key_and_get(crafted, api_client, manager_api):
    assert api_client().get(f"{BASE}/patterns/email_sent/").status_code == 401
    assert manager_api.post(f"{BASE}/patterns/email_sent/").status_code == 405


def test_another_organisation_sees_none_of_this_patterns_feedback(
    rated, api_client, other_agent_key
):
    pattern_rollup_refresh()
    client = api_client(other_agent_key, host=OTHER_HOST)

    data = client.get(f"{BASE}/patterns/email_sent/").data

    assert data["recent_feedback"] == []
    assert data["rollup"] is None  # their rollup has not been refreshed: nothing of ours
    assert all(week["outcomes"] == 0 for week in data["weekly_trend"])


@pytest.mark.parametrize("size", [3, 60])
def test_pattern_detail_runs_a_fixed_number_of_queries(
    crafted, rep, manager_api, django_assert_max_num_queries, size
):
    for _ in range(size):
        outcome = decided_outcome(account=crafted["alpha"], code="email_sent", days_ago=2)
        FeedbackEntryFactory(outcome=outcome, user=rep, kind="dashboard", rating=3)
    pattern_rollup_refresh()

    # key lookup and auth (5), the action type, then four reads whatever the data size
    with django_assert_max_num_queries(10):
        assert manager_api.get(f"{BASE}/patterns/email_sent/").status_code == 200


def test_trends_give_mean_satisfaction_and_usefulness_per_bucket(rated, manager_api):
    satisfaction = manager_api.get(
        f"{BASE}/trends/", {"metric": "satisfaction", "period": "week"}
    ).data
    usefulness = manager_api.get(f"{BASE}/trends/", {"metric": "usefulness", "period": "day"}).data

    assert satisfaction["bucket"] == "week" and satisfaction["period"] == "90d"
    assert satisfaction["points"][-1]["value"] == pytest.approx(11 / 3, abs=1e-3)
    assert satisfaction["points"][-1]["count"] == 3
    assert satisfaction["points"][0]["value"] is None
    assert usefulness["bucket"] == "day" and len(usefulness["points"]) == 30
    assert usefulness["points"][-1]["value"] == 3.0
    assert usefulness["points"][-1]["count"] == 2


def test_month_buckets_and_old_ratings(rated, manager_api, manager):
    old = decided_outcome(account=rated["alpha"], code="email_sent", days_ago=70)
    entry = FeedbackEntryFactory(outcome=old, user=manager, kind="dashboard", rating=1)
    type(entry).objects.filter(pk=entry.pk).update(updated_at=timezone.now() - timedelta(days=70))

    data = manager_api.get(f"{BASE}/trends/", {"metric": "satisfaction", "period": "month"}).data

    assert data["bucket"] == "month"
    rated_months = [point for point in data["points"] if point["count"]]
    assert len(rated_months) == 2


def test_a_reps_satisfaction_trend_covers_their_accounts(rated, api_client, rep_key):
    data = api_client(rep_key).get(f"{BASE}/trends/", {"metric": "satisfaction"}).data

    assert data["points"][-1]["value"] == 3.5  # 5 and 2 on Alpha; Sam's 4 is not Rory's


def test_trends_refuse_an_unknown_period_or_metric(crafted, manager_api):
    assert (
        manager_api.get(f"{BASE}/trends/", {"metric": "satisfaction", "period": "year"}).status_code
        == 400
    )
    assert manager_api.get(f"{BASE}/trends/", {"metric": "joy"}).status_code == 400


def test_the_schema_documents_the_pattern_detail_with_an_example(crafted, api_client):
    schema = api_client().get("/api/schema/", {"format": "json"}).json()

    operation = schema["paths"]["/api/v1/analytics/patterns/{action_type}/"]["get"]
    assert "examples" in str(operation["responses"]["200"])
    trends = schema["paths"]["/api/v1/analytics/trends/"]["get"]
    metric = next(p for p in trends["parameters"] if p["name"] == "metric")
    assert {"satisfaction", "usefulness"} <= set(metric["schema"]["enum"])
