"""Every number of the dashboards, checked against the crafted data set (see conftest)."""

from __future__ import annotations

import pytest
from django.utils import timezone

from apps.dashboards.periods import Period
from apps.dashboards.selectors import (
    executive_dashboard_data,
    manager_dashboard_data,
    rep_dashboard_data,
    trend_data,
)


@pytest.fixture
def month():
    return Period("30d", timezone.now())


def test_rep_summary_counts_only_my_accounts(crafted, rep, month):
    summary = rep_dashboard_data(rep, month)["summary"]

    assert summary["outcomes"] == 6
    assert summary["decided"] == 5
    assert summary["pending"] == 1
    assert summary["succeeded"] == 3
    assert summary["success_rate"] == 0.6
    assert summary["emails_decided"] == 3
    assert summary["emails_replied"] == 2
    assert summary["reply_rate"] == pytest.approx(2 / 3, abs=1e-4)
    assert summary["mean_score"] == 0.6


def test_rep_summary_compares_with_the_previous_period(crafted, rep, month):
    previous = rep_dashboard_data(rep, month)["summary"]["previous"]

    assert previous == {"outcomes": 1, "success_rate": 0.0, "reply_rate": 0.0, "mean_score": 0.0}


def test_rep_trend_has_one_point_per_day_with_that_days_actions(crafted, rep, month):
    trend = rep_dashboard_data(rep, month)["trend"]

    assert len(trend) == 30
    assert sum(point["outcomes"] for point in trend) == 6
    assert trend[-1]["outcomes"] + trend[-2]["outcomes"] >= 1  # the pending email of today
    decided_days = [p for p in trend if p["decided"]]
    assert all(p["success_rate"] is not None for p in decided_days)
    assert all(p["success_rate"] is None for p in trend if not p["decided"])


def test_rep_breakdown_by_action_type(crafted, rep, month):
    rows = {row["code"]: row for row in rep_dashboard_data(rep, month)["by_action_type"]}

    assert rows["email_sent"]["outcomes"] == 4
    assert rows["email_sent"]["success_rate"] == pytest.approx(2 / 3, abs=1e-4)
    assert rows["meeting_request"]["success_rate"] == 1.0
    assert rows["deal_progression"]["success_rate"] == 0.0


def test_longer_period_includes_older_actions(crafted, rep):
    summary = rep_dashboard_data(rep, Period("90d", timezone.now()))["summary"]

    assert summary["outcomes"] == 7
    assert summary["success_rate"] == 0.5


def test_manager_sees_outcomes_by_rep_and_by_clone(crafted, month):
    data = manager_dashboard_data(month)
    by_rep = {row["username"]: row for row in data["by_rep"]}
    by_clone = {row["name"]: row for row in data["by_clone"]}

    assert data["summary"]["outcomes"] == 9
    assert data["summary"]["success_rate"] == pytest.approx(6 / 8, abs=1e-4)
    assert by_rep["rory"]["outcomes"] == 6 and by_rep["rory"]["name"] == "Rory Rep"
    assert by_rep["sam"]["success_rate"] == 1.0
    assert by_clone["Rory's clone"]["outcomes"] == 5
    assert by_clone["Rory's clone"]["success_rate"] == 0.5
    assert by_clone["No clone named"]["outcomes"] == 4


def test_manager_calibration_lists_every_active_action_type(crafted, month):
    calibration = manager_dashboard_data(month)["calibration"]

    assert {report["action_type"] for report in calibration} >= {"email_sent", "meeting_request"}
    assert all(len(report["bins"]) == 10 for report in calibration)


def test_executive_pipeline_and_revenue_influenced(crafted, month):
    pipeline = executive_dashboard_data(month)["pipeline"]

    assert pipeline["open_deals"] == 3
    assert pipeline["open_amount"] == 120000
    assert pipeline["open_influenced_deals"] == 2
    assert pipeline["open_influenced_amount"] == 80000
    assert pipeline["open_influenced_share"] == pytest.approx(80 / 120, abs=1e-4)
    assert pipeline["won_deals"] == 3
    assert pipeline["won_amount"] == 35000
    assert pipeline["won_influenced_amount"] == 30000


def test_executive_revenue_trend_puts_each_win_in_its_day(crafted, month):
    points = executive_dashboard_data(month)["revenue_trend"]

    assert sum(p["revenue_won"] for p in points) == 35000
    assert sum(p["revenue_influenced"] for p in points) == 30000
    assert max(p["revenue_won"] for p in points) == 20000


def test_trend_of_one_metric_for_one_rep(crafted, rep, month):
    trend = trend_data("outcomes", month, rep)

    assert trend["bucket"] == "day"
    assert sum(point["value"] for point in trend["points"]) == 6


def test_year_trend_is_monthly_and_quarter_weekly(crafted):
    now = timezone.now()
    year = trend_data("outcomes", Period("365d", now), None)
    quarter = trend_data("outcomes", Period("90d", now), None)

    assert year["bucket"] == "month" and 12 <= len(year["points"]) <= 13
    assert quarter["bucket"] == "week" and 13 <= len(quarter["points"]) <= 14
    assert sum(p["value"] for p in year["points"]) == 10
    assert sum(p["value"] for p in quarter["points"]) == 10


def test_empty_organisation_has_no_rates_rather_than_zero(org, month):
    data = manager_dashboard_data(month)

    assert data["summary"]["outcomes"] == 0
    assert data["summary"]["success_rate"] is None
    assert data["by_rep"] == []
