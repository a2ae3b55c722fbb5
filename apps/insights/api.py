"""Insight inbox API: list, detail, act, dismiss, feedback."""

from __future__ import annotations

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from apps.insights.models import (
    DismissReason,
    Insight,
    InsightStatus,
    PatternType,
    Severity,
)
from apps.insights.selectors import insights_visible_to
from apps.insights.services import (
    InsightConflict,
    alert_feedback_record,
    insight_act,
    insight_dismiss,
)
from apps.users.permissions import HasCapability
from apps.web.api_errors import Conflict


class InsightSerializer(serializers.ModelSerializer):
    account = serializers.SlugRelatedField(slug_field="external_id", read_only=True)
    account_name = serializers.CharField(source="account.name", read_only=True, default=None)
    resolved_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

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


class InsightViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = InsightSerializer
    filterset_class = InsightFilter

    def get_permissions(self):
        capability = {
            "act": "insights.act",
            "dismiss": "insights.act",
            "feedback": "insights.feedback",
        }.get(self.action, "insights.read")
        return [HasCapability(capability)()]

    def get_queryset(self):
        return insights_visible_to(self.request.user)

    def _change(self, request, serializer_class, change):
        payload = serializer_class(data=request.data)
        payload.is_valid(raise_exception=True)
        insight = self.get_object()
        try:
            insight = change(insight, **payload.validated_data)
        except InsightConflict as conflict:
            raise Conflict(str(conflict)) from conflict
        return Response(InsightSerializer(insight).data)

    @extend_schema(request=ActSerializer, responses={200: InsightSerializer})
    @action(detail=True, methods=["post"])
    def act(self, request, pk=None):
        return self._change(
            request,
            ActSerializer,
            lambda insight, note: insight_act(insight=insight, user=request.user, note=note),
        )

    @extend_schema(request=DismissSerializer, responses={200: InsightSerializer})
    @action(detail=True, methods=["post"])
    def dismiss(self, request, pk=None):
        return self._change(
            request,
            DismissSerializer,
            lambda insight, reason, note: insight_dismiss(
                insight=insight, user=request.user, reason=reason, note=note
            ),
        )

    @extend_schema(request=FeedbackSerializer, responses={200: FeedbackSerializer})
    @action(detail=True, methods=["post"])
    def feedback(self, request, pk=None):
        payload = FeedbackSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        feedback = alert_feedback_record(
            insight=self.get_object(), user=request.user, **payload.validated_data
        )
        return Response(FeedbackSerializer(feedback).data)


router = SimpleRouter()
router.register("insights", InsightViewSet, basename="api-insights")
urlpatterns = router.urls
