"""Feedback and learnings API: rate an output, read ranked learnings, record a use."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from apps.feedback.models import (
    ApplicationOutcome,
    FeedbackEntry,
    FeedbackKind,
    Learning,
    LearningApplication,
    LearningCategory,
)
from apps.feedback.selectors import learnings_ranked
from apps.feedback.services import feedback_rate, learning_application_record
from apps.outcomes.models import OutcomeRecord
from apps.outcomes.selectors import outcomes_visible_to
from apps.users.models import User
from apps.users.permissions import HasCapability


class VisibleOutcomeField(serializers.PrimaryKeyRelatedField):
    """An outcome id the caller may see; any other id is "does not exist" (400)."""

    def get_queryset(self):
        return outcomes_visible_to(self.context["request"].user)


class FeedbackEntrySerializer(serializers.ModelSerializer):
    outcome = VisibleOutcomeField()
    kind = serializers.ChoiceField(choices=FeedbackKind.choices)
    rating = serializers.IntegerField()
    comment = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    usefulness = serializers.IntegerField(required=False, allow_null=True)
    quality = serializers.IntegerField(required=False, allow_null=True)
    clarity = serializers.IntegerField(required=False, allow_null=True)
    likelihood_to_reuse = serializers.IntegerField(required=False, allow_null=True)
    would_recommend = serializers.BooleanField(required=False, allow_null=True)
    user = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = FeedbackEntry
        fields = [
            "id",
            "outcome",
            "kind",
            "rating",
            "comment",
            "usefulness",
            "quality",
            "clarity",
            "likelihood_to_reuse",
            "would_recommend",
            "user",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "user", "created_at", "updated_at"]
        validators = []  # one entry per (user, outcome, kind) is an update, not an error


class FeedbackViewSet(mixins.CreateModelMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """POST rates an output (201 new entry, 200 when it updates yours). GET lists yours."""

    serializer_class = FeedbackEntrySerializer
    permission_classes = [HasCapability("feedback.rate")]
    filterset_fields = ["kind", "outcome"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False) or not isinstance(self.request.user, User):
            return FeedbackEntry.objects.none()
        return FeedbackEntry.objects.filter(user=self.request.user).select_related("user")

    def create(self, request, *args, **kwargs):
        if not isinstance(request.user, User):
            raise ValidationError({"detail": "Feedback is given by a person."})
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        entry, created = feedback_rate(user=request.user, **serializer.validated_data)
        return Response(
            self.get_serializer(entry).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class LearningSerializer(serializers.ModelSerializer):
    action_type = serializers.SlugRelatedField(slug_field="code", read_only=True)
    rank = serializers.FloatField(read_only=True)
    current_decay = serializers.FloatField(read_only=True)

    class Meta:
        model = Learning
        fields = [
            "id",
            "title",
            "category",
            "guidance",
            "action_type",
            "evidence",
            "relevance_score",
            "confidence_score",
            "decay_factor",
            "current_decay",
            "rank",
            "application_count",
            "success_rate",
            "is_active",
            "last_success_at",
            "last_applied_at",
        ]
        read_only_fields = fields


class LearningQuerySerializer(serializers.Serializer):
    action_type = serializers.SlugField(required=False, allow_blank=True)
    category = serializers.ChoiceField(
        choices=LearningCategory.choices, required=False, allow_blank=True
    )
    limit = serializers.IntegerField(required=False, min_value=1, max_value=100, default=10)


class LearningApplicationSerializer(serializers.ModelSerializer):
    outcome = serializers.ChoiceField(choices=ApplicationOutcome.choices)
    outcome_record = serializers.SlugRelatedField(
        slug_field="external_id",
        queryset=OutcomeRecord.objects.all(),
        required=False,
        allow_null=True,
    )
    context = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    metadata = serializers.JSONField(required=False)
    applied_at = serializers.DateTimeField(required=False)

    class Meta:
        model = LearningApplication
        fields = ["id", "outcome", "outcome_record", "context", "metadata", "applied_at"]
        read_only_fields = ["id"]

    def validate_metadata(self, value):
        if not isinstance(value, dict):
            raise serializers.ValidationError("Must be a JSON object.")
        return value


class LearningViewSet(viewsets.GenericViewSet):
    """Learnings ranked for the agent (relevance × confidence × decay); record a use."""

    serializer_class = LearningSerializer
    pagination_class = None
    filter_backends: list = []

    def get_permissions(self):
        capability = "learnings.apply" if self.action == "applications" else "learnings.read"
        return [HasCapability(capability)()]

    def get_queryset(self):
        return Learning.objects.filter(is_active=True)

    @extend_schema(
        parameters=[
            OpenApiParameter("action_type", str, description="action type code"),
            OpenApiParameter("category", str, enum=LearningCategory.values),
            OpenApiParameter("limit", int, description="1-100, default 10"),
        ],
        responses=LearningSerializer(many=True),
    )
    def list(self, request):
        query = LearningQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        learnings = learnings_ranked(
            action_type=params.get("action_type", ""), category=params.get("category", "")
        )[: params["limit"]]
        return Response(LearningSerializer(learnings, many=True).data)

    @extend_schema(request=LearningApplicationSerializer, responses={201: LearningSerializer})
    @action(detail=True, methods=["post"])
    def applications(self, request, pk=None):
        learning = self.get_object()
        serializer = LearningApplicationSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = request.user if isinstance(request.user, User) else None
        application, learning = learning_application_record(
            learning=learning, applied_by=user, **serializer.validated_data
        )
        ranked = learnings_ranked(active=None).get(pk=learning.pk)
        body = LearningSerializer(ranked).data | {
            "application": LearningApplicationSerializer(application).data
        }
        return Response(body, status=status.HTTP_201_CREATED)


router = SimpleRouter()
router.register("feedback", FeedbackViewSet, basename="api-feedback")
router.register("learnings", LearningViewSet, basename="api-learnings")
urlpatterns = router.urls
