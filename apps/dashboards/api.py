"""Analytics API: the dashboards' numbers for the agent and for integrations.

``GET /api/v1/analytics/rep/`` (``?rep=username`` for managers), ``/manager/``,
``/executive/``, ``/trends/?metric=…&period=30d|90d|365d|day|week|month``, ``/patterns/``
and ``/patterns/{action_type}/``. Executives
and managers see the whole organisation; reps see their own accounts and get 403 on the
manager and executive numbers. Answers are cached for 5 minutes per organisation;
``?refresh=1`` recomputes them.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from django.urls import path
from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework.exceptions import PermissionDenied as ApiPermissionDenied
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.dashboards.forms import DashboardForm, TrendForm
from apps.dashboards.periods import Period
from apps.dashboards.selectors import (
    TREND_METRICS,
    UnknownRep,
    executive_dashboard_data,
    manager_dashboard_data,
    pattern_analytics,
    pattern_detail,
    rep_scope_for,
    trend_data,
)
from apps.dashboards.services import dashboard_numbers, rep_dashboard_numbers
from apps.outcomes.models import ActionType
from apps.users.models import User
from apps.users.permissions import HasCapability
from apps.users.roles import sees_only_own
from apps.web.replica import ReadsFromReplica

PERIOD_PARAM = OpenApiParameter(
    "period", str, enum=["30d", "90d", "365d"], description="default 30d"
)
REFRESH_PARAM = OpenApiParameter(
    "refresh", bool, description="recompute instead of the 5-minute cache"
)
REP_PARAM = OpenApiParameter(
    "rep", str, description="a rep's username (managers, executives, agent)"
)


def _valid(form) -> dict:
    if not form.is_valid():
        raise ValidationError({field: list(errors) for field, errors in form.errors.items()})
    return form.cleaned_data


def _scope(request: Request, username: str) -> User | None:
    try:
        return rep_scope_for(request.user, username)
    except UnknownRep as error:
        raise ValidationError({"rep": [str(error)]}) from error
    except PermissionDenied as error:
        raise ApiPermissionDenied(str(error)) from error


def _is_rep(request: Request) -> bool:
    return sees_only_own(request.user)


class _AnalyticsView(ReadsFromReplica, APIView):
    permission_classes = [IsAuthenticated, HasCapability("analytics.read")]


class RepAnalytics(_AnalyticsView):
    @extend_schema(parameters=[PERIOD_PARAM, REFRESH_PARAM, REP_PARAM], responses=dict)
    def get(self, request: Request) -> Response:
        """A rep's numbers: success and reply rate with the previous period, trend, by type."""
        cleaned = _valid(DashboardForm(request.query_params))
        rep = _scope(request, cleaned["rep"])
        period = Period(cleaned["period"], timezone.now())
        data = rep_dashboard_numbers(rep, period, refresh=cleaned["refresh"])
        return Response(data)


class _OrgAnalytics(_AnalyticsView):
    kind = ""

    def build(self, period: Period) -> dict:
        raise NotImplementedError

    @extend_schema(parameters=[PERIOD_PARAM, REFRESH_PARAM], responses=dict)
    def get(self, request: Request) -> Response:
        if _is_rep(request):
            raise ApiPermissionDenied("Reps see their own numbers at /api/v1/analytics/rep/.")
        cleaned = _valid(DashboardForm(request.query_params))
        period = Period(cleaned["period"], timezone.now())
        data = dashboard_numbers(
            self.kind, period, lambda: self.build(period), refresh=cleaned["refresh"]
        )
        return Response(data)


class ManagerAnalytics(_OrgAnalytics):
    """The team dashboard's numbers: by rep, by clone, calibration, patterns."""

    kind = "manager"

    def build(self, period: Period) -> dict:
        return manager_dashboard_data(period)


class ExecutiveAnalytics(_OrgAnalytics):
    """Pipeline and revenue influenced by the agent, outcome trend."""

    kind = "executive"

    def build(self, period: Period) -> dict:
        return executive_dashboard_data(period)


class TrendAnalytics(_AnalyticsView):
    @extend_schema(
        parameters=[
            OpenApiParameter("metric", str, required=True, enum=list(TREND_METRICS)),
            OpenApiParameter(
                "period",
                str,
                enum=["30d", "90d", "365d", "day", "week", "month"],
                description="a range, or the bucket wanted: day = 30d per day, week = 90d per "
                "week, month = 365d per month (default 30d)",
            ),
            REFRESH_PARAM,
            REP_PARAM,
        ],
        responses=dict,
        examples=[
            OpenApiExample(
                "Satisfaction per week",
                description="GET /api/v1/analytics/trends/?metric=satisfaction&period=week",
                value={
                    "metric": "satisfaction",
                    "label": "Satisfaction (mean detailed rating, 1-5)",
                    "period": "90d",
                    "bucket": "week",
                    "points": [
                        {"start": "2026-09-07", "label": "7 Sep", "value": 4.2, "count": 12},
                        {"start": "2026-09-14", "label": "14 Sep", "value": None, "count": 0},
                    ],
                    "generated_at": "2026-12-04T09:00:00+00:00",
                    "from_cache": False,
                },
                response_only=True,
            )
        ],
    )
    def get(self, request: Request) -> Response:
        """One metric bucketed by day (30d), week (90d) or month (365d). Reps: their accounts.

        ``satisfaction`` and ``usefulness`` are the mean detailed ratings (1-5) given in each
        bucket (``null`` when none was given; ``count`` says how many)."""
        cleaned = _valid(TrendForm(request.query_params))
        rep = _scope(request, cleaned["rep"])
        period = Period(cleaned["period"], timezone.now())
        data = dashboard_numbers(
            f"trend-{cleaned['metric']}",
            period,
            lambda: trend_data(cleaned["metric"], period, rep),
            scope=f"user-{rep.pk}" if rep is not None else "all",
            refresh=cleaned["refresh"],
        )
        return Response(data)


class PatternAnalytics(_AnalyticsView):
    @extend_schema(responses=dict)
    def get(self, request: Request) -> Response:
        """Per action type: totals, last 7 / 30 days, success rate, satisfaction, reuse, recommend."""
        return Response({"results": pattern_analytics()})


PATTERN_DETAIL_EXAMPLE = {
    "action_type": "email_sent",
    "name": "Email sent",
    "rollup": {
        "action_type": "email_sent",
        "name": "Email sent",
        "total": 1840,
        "last_7_days": 96,
        "last_30_days": 410,
        "decided": 1790,
        "succeeded": 1020,
        "failed": 770,
        "success_rate": 0.5698,
        "mean_score": 0.5698,
        "ratings": 212,
        "mean_satisfaction": 3.9,
        "mean_likelihood_to_reuse": 7.4,
        "would_recommend": 150,
        "mean_usefulness": 3.7,
        "last_activity_at": "2026-12-04T08:55:00+00:00",
        "refreshed_at": "2026-12-04T09:00:00+00:00",
    },
    "recent_feedback": [
        {
            "id": 5121,
            "outcome": 88213,
            "outcome_external_id": "act-88213",
            "user": "rory",
            "kind": "dashboard",
            "rating": 4,
            "usefulness": 5,
            "comment": "Good follow-up, a bit long.",
            "updated_at": "2026-12-03T16:20:00+00:00",
        }
    ],
    "weekly_trend": [
        {
            "start": "2026-11-30",
            "label": "30 Nov",
            "outcomes": 96,
            "decided": 80,
            "success_rate": 0.6,
            "ratings": 14,
            "satisfaction": 4.1,
        }
    ],
}


class PatternDetailAnalytics(_AnalyticsView):
    @extend_schema(
        operation_id="v1_analytics_pattern_detail",
        responses=dict,
        examples=[OpenApiExample("One pattern", value=PATTERN_DETAIL_EXAMPLE, response_only=True)],
    )
    def get(self, request: Request, action_type: str) -> Response:
        """One action type: the rollup row, the last 20 ratings with their comments (reps:
        on their accounts) and a weekly trend of success rate and satisfaction (90 days).
        An unknown action type is a 404."""
        kind = get_object_or_404(ActionType, code=action_type)
        return Response(pattern_detail(kind, request.user))


urlpatterns = [
    path("analytics/rep/", RepAnalytics.as_view(), name="api-analytics-rep"),
    path("analytics/manager/", ManagerAnalytics.as_view(), name="api-analytics-manager"),
    path("analytics/executive/", ExecutiveAnalytics.as_view(), name="api-analytics-executive"),
    path("analytics/trends/", TrendAnalytics.as_view(), name="api-analytics-trends"),
    path("analytics/patterns/", PatternAnalytics.as_view(), name="api-analytics-patterns"),
    path(
        "analytics/patterns/<str:action_type>/",
        PatternDetailAnalytics.as_view(),
        name="api-analytics-pattern-detail",
    ),
]
