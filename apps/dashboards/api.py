"""Analytics API: the dashboards' numbers for the agent and for integrations.

``GET /api/v1/analytics/rep/`` (``?rep=username`` for managers), ``/manager/``,
``/executive/``, ``/trends/?metric=…&period=30d|90d|365d`` and ``/patterns/``. Executives
and managers see the whole organisation; reps see their own accounts and get 403 on the
manager and executive numbers. Answers are cached for 5 minutes per organisation;
``?refresh=1`` recomputes them.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.urls import path
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
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
    rep_dashboard_data,
    rep_scope_for,
    trend_data,
)
from apps.dashboards.services import dashboard_numbers
from apps.users.models import User
from apps.users.permissions import HasCapability
from apps.users.roles import sees_only_own

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


class _AnalyticsView(APIView):
    permission_classes = [IsAuthenticated, HasCapability("analytics.read")]


class RepAnalytics(_AnalyticsView):
    @extend_schema(parameters=[PERIOD_PARAM, REFRESH_PARAM, REP_PARAM], responses=dict)
    def get(self, request: Request) -> Response:
        """A rep's numbers: success and reply rate with the previous period, trend, by type."""
        cleaned = _valid(DashboardForm(request.query_params))
        rep = _scope(request, cleaned["rep"])
        period = Period(cleaned["period"], timezone.now())
        data = dashboard_numbers(
            "rep",
            period,
            lambda: rep_dashboard_data(rep, period),
            scope=f"user-{rep.pk}" if rep is not None else "all",
            refresh=cleaned["refresh"],
        )
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
            PERIOD_PARAM,
            REFRESH_PARAM,
            REP_PARAM,
        ],
        responses=dict,
    )
    def get(self, request: Request) -> Response:
        """One metric bucketed by day (30d), week (90d) or month (365d). Reps: their accounts."""
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


urlpatterns = [
    path("analytics/rep/", RepAnalytics.as_view(), name="api-analytics-rep"),
    path("analytics/manager/", ManagerAnalytics.as_view(), name="api-analytics-manager"),
    path("analytics/executive/", ExecutiveAnalytics.as_view(), name="api-analytics-executive"),
    path("analytics/trends/", TrendAnalytics.as_view(), name="api-analytics-trends"),
    path("analytics/patterns/", PatternAnalytics.as_view(), name="api-analytics-patterns"),
]
