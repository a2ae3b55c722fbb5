"""What each page adds to its cached numbers: charts, and the parts that must stay live.

The cached dashboard data is plain numbers; the charts are drawn from it on every request
(cheap, no query). Lists a person acts on (outputs awaiting their rating) are read live so
that a rating disappears from the list at once, not five minutes later.
"""

from __future__ import annotations

from datetime import date

from django.http import HttpRequest
from django.urls import reverse
from django.utils.dateparse import parse_datetime
from django.utils.safestring import SafeString

from apps.dashboards import charts
from apps.dashboards.periods import Period
from apps.dashboards.selectors import awaiting_my_rating
from apps.goals.charts import goal_progress_chart

HALF_WIDTH, HALF_HEIGHT = 600, 300  # charts in a half-width card keep a readable font


def rep_live_sections(request: HttpRequest, scope_user, period: Period) -> dict:
    """Outputs awaiting my rating: only on my own dashboard, and never from the cache."""
    own = scope_user is not None and scope_user.pk == request.user.pk
    return {
        "show_awaiting": own,
        "awaiting_rating": awaiting_my_rating(request.user) if own else [],
        "show_insights": True,
        "insights_url": reverse("insights:inbox"),
        "show_goals": True,
    }


def team_extra(data: dict) -> dict:
    calibration = [
        report | {"plot": charts.reliability_plot(report["bins"])} for report in data["calibration"]
    ]
    patterns = [
        row | {"refreshed_at_dt": parse_datetime(row["refreshed_at"])} for row in data["patterns"]
    ]
    return {
        "patterns": patterns,
        "approvals": data["approvals"],
        "approvals_url": reverse("approvals:queue"),
        "show_approvals": True,
        "show_feedback": True,
        "show_insights": True,
        "insights_url": reverse("insights:inbox"),
        "calibration": calibration,
        "has_calibration": any(report["sample_size"] for report in calibration),
    }


def goal_charts(goals: list[dict]) -> list[dict]:
    """Each active goal's snapshot history drawn against its target (small multiples)."""
    return [
        {
            "goal": goal,
            "chart": goal_progress_chart(
                goal.get("history", []),
                name=goal["name"],
                goal_type=goal["type"],
                target=goal["target"],
                start=date.fromisoformat(goal["period_start"]),
                end=date.fromisoformat(goal["period_end"]),
                width=420,
                height=200,
            ),
        }
        for goal in goals
        if "period_start" in goal  # numbers cached before this change have no history
    ]


def activity_chart(trend: list[dict], **size: int) -> SafeString:
    """Agent actions per bucket, with the success rate drawn over them."""
    return charts.trend_chart(
        trend,
        bar=charts.Series("outcomes", "Agent actions"),
        line=charts.Series("success_rate", "Success rate"),
        **size,
    )


def executive_extra(data: dict) -> dict:
    return {
        "goal_charts": goal_charts(data["goals"]["active"]),
        "revenue_chart": charts.trend_chart(
            data["revenue_trend"],
            bar=charts.Series("revenue_won", "Revenue won"),
            overlay=charts.Series("revenue_influenced", "Influenced by the agent"),
            bar_format=charts.money,
            width=HALF_WIDTH,
            height=HALF_HEIGHT,
        ),
        "activity_chart": activity_chart(data["trend"], width=HALF_WIDTH, height=HALF_HEIGHT),
        "autonomy": data["autonomy"],
        "show_autonomy": True,
        "show_goals": True,
        "has_revenue": any(point["revenue_won"] for point in data["revenue_trend"]),
    }
