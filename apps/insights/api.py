"""Insight inbox API: list, detail, act, dismiss, feedback; the customer view's timeline."""

from __future__ import annotations

import django_filters
from django.shortcuts import get_object_or_404
from django.urls import path
from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter
from rest_framework.views import APIView

from apps.crm.api import AccountRef, DealRef
from apps.crm.models import Channel, Interaction
from apps.crm.selectors import accounts_visible_to
from apps.insights.models import (
    DismissReason,
    Insight,
    InsightStatus,
    PatternType,
    Severity,
)
from apps.insights.selectors import (
    SUMMARY_WINDOWS,
    TIMELINE_ORDERS,
    account_open_insights,
    account_summaries,
    account_timeline,
    insights_visible_to,
)
from apps.insights.services import (
    InsightConflict,
    alert_feedback_record,
    insight_act,
    insight_dismiss,
)
from apps.insights.streams import InsightStreamView
from apps.users.api import UserRef
from apps.users.permissions import CapabilityPerAction, HasCapability
from apps.web.api_errors import Conflict


class InsightSerializer(serializers.ModelSerializer):
    account = AccountRef(read_only=True)
    account_name = serializers.CharField(source="account.name", read_only=True, default=None)
    resolved_by = UserRef(read_only=True)

    class Meta:
        model = Insight
        fields = [
            "id",
            "account",
            "account_name",
            "industry",
            "pattern_type",
            "signal",
            "title",
            "confidence",
            "severity",
            "evidence",
            "status",
            "detected_at",
            "resolved_at",
            "resolved_by",
            "dismiss_reason",
            "resolution_note",
        ]
        read_only_fields = fields


class ActSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")


class DismissSerializer(serializers.Serializer):
    reason = serializers.ChoiceField(choices=DismissReason.choices)
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")


class FeedbackSerializer(serializers.Serializer):
    useful = serializers.BooleanField()
    comment = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")


class InsightFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=InsightStatus.choices)
    pattern_type = django_filters.ChoiceFilter(choices=PatternType.choices)
    severity = django_filters.ChoiceFilter(choices=Severity.choices)
    account = django_filters.CharFilter(field_name="account__external_id")

    class Meta:
        model = Insight
        fields = ["status", "pattern_type", "severity", "account"]


class InsightViewSet(
    CapabilityPerAction, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    serializer_class = InsightSerializer
    filterset_class = InsightFilter
    capabilities = {
        "act": "insights.act",
        "dismiss": "insights.act",
        "feedback": "insights.feedback",
        "*": "insights.read",
    }

    def get_queryset(self):
        return insights_visible_to(self.request.user)

    def _change(self, request, serializer_class, change):
        """Validate the body, then ``change`` (a service taking the insight, the user and the
        body's fields) the insight; 409 when it is already closed."""
        payload = serializer_class(data=request.data)
        payload.is_valid(raise_exception=True)
        insight = self.get_object()
        try:
            insight = change(insight=insight, user=request.user, **payload.validated_data)
        except InsightConflict as conflict:
            raise Conflict(str(conflict)) from conflict
        return Response(InsightSerializer(insight).data)

    @extend_schema(request=ActSerializer, responses={200: InsightSerializer})
    @action(detail=True, methods=["post"])
    def act(self, request, pk=None):
        return self._change(request, ActSerializer, insight_act)

    @extend_schema(request=DismissSerializer, responses={200: InsightSerializer})
    @action(detail=True, methods=["post"])
    def dismiss(self, request, pk=None):
        return self._change(request, DismissSerializer, insight_dismiss)

    @extend_schema(request=FeedbackSerializer, responses={200: FeedbackSerializer})
    @action(detail=True, methods=["post"])
    def feedback(self, request, pk=None):
        payload = FeedbackSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        feedback = alert_feedback_record(
            insight=self.get_object(), user=request.user, **payload.validated_data
        )
        return Response(FeedbackSerializer(feedback).data)


# --- customer view ------------------------------------------------------------------------

TIMELINE_LIMIT, TIMELINE_MAX_LIMIT = 200, 1000


class TimelineQuery(serializers.Serializer):
    days = serializers.ChoiceField(choices=[str(d) for d in SUMMARY_WINDOWS], default="30")
    order = serializers.ChoiceField(choices=TIMELINE_ORDERS, default="oldest")
    limit = serializers.IntegerField(min_value=1, max_value=TIMELINE_MAX_LIMIT, default=200)
    offset = serializers.IntegerField(min_value=0, max_value=10_000_000, default=0)


class TimelineItemSerializer(serializers.ModelSerializer):
    deal = DealRef(read_only=True)

    class Meta:
        model = Interaction
        fields = [
            "id",
            "external_id",
            "occurred_at",
            "channel",
            "direction",
            "contact_name",
            "contact_title",
            "sentiment",
            "summary",
            "key_points",
            "deal",
            "stage",
        ]
        read_only_fields = fields


TIMELINE_EXAMPLE = {
    "account": {"id": 17, "external_id": "acc-17", "name": "Cedar Health", "owner": "rory"},
    "days": 30,
    "order": "oldest",
    "limit": 200,
    "offset": 0,
    "next_offset": None,
    "timeline": [
        {
            "id": 901,
            "external_id": "msg-901",
            "occurred_at": "2026-11-20T09:12:00Z",
            "channel": "email",
            "direction": "outbound",
            "contact_name": "",
            "contact_title": "",
            "sentiment": None,
            "summary": "Sent the renewal proposal",
            "key_points": [],
            "deal": "deal-4",
            "stage": "",
        },
        {
            "id": 907,
            "external_id": "msg-907",
            "occurred_at": "2026-11-21T15:40:00Z",
            "channel": "email",
            "direction": "inbound",
            "contact_name": "Dana Reyes",
            "contact_title": "CFO",
            "sentiment": 0.6,
            "summary": "Asked for pricing on 40 more seats",
            "key_points": ["pricing", "expansion"],
            "deal": "deal-4",
            "stage": "",
        },
    ],
    "summaries": [
        {
            "days": 30,
            "total": 2,
            "inbound": 1,
            "channels": {"email": 2, "chat": 0, "meeting": 0, "crm": 0},
            "sentiment": 0.6,
            "previous_sentiment": 0.1,
            "trend": "up",
            "key_points": [{"point": "pricing", "count": 1}],
        }
    ],
    "open_insights": [
        {
            "id": 55,
            "pattern_type": "buying_signal",
            "severity": "high",
            "title": "Buying signals: 2 inbound pricing/demo/contract requests in 7 days",
        }
    ],
}


def _summary_data(summary: dict) -> dict:
    labels = dict((label, value) for value, label in Channel.choices)
    return {
        "days": summary["days"],
        "total": summary["total"],
        "inbound": summary["inbound"],
        "channels": {labels[label]: count for label, count in summary["channels"]},
        "sentiment": None if summary["sentiment"] is None else round(summary["sentiment"], 3),
        "previous_sentiment": None
        if summary["previous_sentiment"] is None
        else round(summary["previous_sentiment"], 3),
        "trend": summary["trend"],
        "key_points": [{"point": point, "count": count} for point, count in summary["key_points"]],
    }


class AccountTimeline(APIView):
    permission_classes = [IsAuthenticated, HasCapability("crm.read")]

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "days", int, enum=list(SUMMARY_WINDOWS), description="timeline window (default 30)"
            ),
            OpenApiParameter(
                "order", str, enum=list(TIMELINE_ORDERS), description="default oldest first"
            ),
            OpenApiParameter("limit", int, description=f"1-{TIMELINE_MAX_LIMIT}, default 200"),
            OpenApiParameter("offset", int, description="default 0; see next_offset"),
        ],
        responses=dict,
        examples=[OpenApiExample("Customer view", value=TIMELINE_EXAMPLE, response_only=True)],
    )
    def get(self, request: Request, account_id: int) -> Response:
        """The customer view: the account's interactions on every channel in the last
        ``days`` (oldest first unless ``order=newest``), its 30 / 90 / 365-day summaries and
        its open insights. Reps see their own accounts only; any other id is a 404."""
        query = TimelineQuery(data=request.query_params)
        if not query.is_valid():
            raise ValidationError(query.errors)
        params = query.validated_data
        account = get_object_or_404(accounts_visible_to(request.user), pk=account_id)
        now = timezone.now()
        interactions = account_timeline(
            account, days=int(params["days"]), oldest_first=params["order"] == "oldest", now=now
        )
        start, limit = params["offset"], params["limit"]
        page = list(interactions[start : start + limit + 1])
        has_more = len(page) > limit
        return Response(
            {
                "account": {
                    "id": account.pk,
                    "external_id": account.external_id,
                    "name": account.name,
                    "owner": account.owner.username if account.owner else None,
                },
                "days": int(params["days"]),
                "order": params["order"],
                "limit": limit,
                "offset": start,
                "next_offset": start + limit if has_more else None,
                "timeline": TimelineItemSerializer(page[:limit], many=True).data,
                "summaries": [_summary_data(s) for s in account_summaries(account, now=now)],
                "open_insights": [
                    {
                        "id": insight.pk,
                        "pattern_type": insight.pattern_type,
                        "severity": insight.severity,
                        "title": insight.title,
                    }
                    for insight in account_open_insights(account)[:20]
                ],
            }
        )


router = SimpleRouter()
router.register("insights", InsightViewSet, basename="api-insights")
urlpatterns = [
    # Before the router: "stream" would otherwise be read as an insight id.
    path("insights/stream/", InsightStreamView.as_view(), name="api-insights-stream"),
    *router.urls,
    path(
        "accounts/<int:account_id>/timeline/",
        AccountTimeline.as_view(),
        name="api-account-timeline",
    ),
]
