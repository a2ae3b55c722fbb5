"""Feedback and learnings API: rate, list, correct and withdraw feedback; read ranked
learnings, write one, keep or retire a hurting one, record and read its uses."""

from __future__ import annotations

from collections.abc import Mapping

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import mixins, pagination, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from apps.feedback.models import (
    ApplicationOutcome,
    AspectPolarity,
    ErrorCategory,
    FeedbackEntry,
    FeedbackKind,
    FeedbackSource,
    Learning,
    LearningApplication,
    LearningCategory,
)
from apps.feedback.selectors import (
    FEEDBACK_DETAIL_FIELDS,
    FEEDBACK_SCORE_FIELDS,
    feedback_visible_to,
    learning_applications,
    learnings_ranked,
)
from apps.feedback.services import (
    feedback_rate,
    feedback_update,
    feedback_withdraw,
    learning_application_record,
    learning_create,
    learning_keep,
    learning_retire,
)
from apps.feedback.services.ratings import MAX_FEATURE_REQUESTS
from apps.outcomes.models import ActionType, OutcomeRecord
from apps.outcomes.selectors import (
    VisibleOutcomeId,
    outcome_visible_id,
    outcome_visible_id_later,
    outcomes_visible_to,
)
from apps.users.api import UserRef
from apps.users.models import User
from apps.users.permissions import HasCapability
from apps.web.api_fields import FieldsBuiltOnce


def _service_errors(error: DjangoValidationError) -> ValidationError:
    """A service's ValidationError as DRF's 400, field by field."""
    if hasattr(error, "message_dict"):
        return ValidationError(error.message_dict)
    return ValidationError({"detail": error.messages})


class VisibleOutcomeField(serializers.PrimaryKeyRelatedField):
    """An outcome id the caller may see; any other id is "does not exist" (400).

    The record is read for its id alone (a rating only refers to it): the joined columns of
    the full record, then compiling the query, were most of the CPU time of rating an
    output. For a caller who sees every output, the rating's own statement checks it
    (``outcome_visible_id_later``): ``check_now`` when the rating will not be written.
    """

    def get_queryset(self):  # the choices of the browsable API
        return outcomes_visible_to(self.context["request"].user)

    def to_internal_value(self, data, *, now: bool = False):
        if isinstance(data, bool):
            self.fail("incorrect_type", data_type=type(data).__name__)
        user = self.context["request"].user
        try:
            if now:
                return outcome_visible_id(user, data)
            return outcome_visible_id_later(user, data)
        except OutcomeRecord.DoesNotExist:
            self.fail("does_not_exist", pk_value=data)
        except (TypeError, ValueError):
            self.fail("incorrect_type", data_type=type(data).__name__)

    def check_now(self, data) -> list[str]:
        """The errors of ``data`` as an outcome id, the outcome read now."""
        try:
            self.to_internal_value(data, now=True)
        except ValidationError as invalid:
            return invalid.detail
        return []


def _aspect_list() -> serializers.ListField:
    return serializers.ListField(
        child=serializers.SlugField(max_length=40), required=False, max_length=20
    )


class FeedbackEntrySerializer(FieldsBuiltOnce, serializers.ModelSerializer):
    outcome = VisibleOutcomeField()
    kind = serializers.ChoiceField(choices=FeedbackKind.choices)
    rating = serializers.IntegerField(min_value=-32768, max_value=32767)
    comment = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    usefulness = serializers.IntegerField(required=False, allow_null=True, max_value=32767)
    quality = serializers.IntegerField(required=False, allow_null=True, max_value=32767)
    clarity = serializers.IntegerField(required=False, allow_null=True, max_value=32767)
    likelihood_to_reuse = serializers.IntegerField(required=False, allow_null=True, max_value=32767)
    would_recommend = serializers.BooleanField(required=False, allow_null=True)
    positive_aspects = _aspect_list()
    negative_aspects = _aspect_list()
    positive_notes = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    negative_notes = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    feature_requests = serializers.ListField(
        child=serializers.CharField(max_length=300, allow_blank=True),
        required=False,
        max_length=MAX_FEATURE_REQUESTS,
    )
    error_category = serializers.ChoiceField(
        choices=ErrorCategory.choices, required=False, allow_blank=True
    )
    error_details = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    feedback_source = serializers.ChoiceField(choices=FeedbackSource.choices, required=False)
    user = UserRef(read_only=True)

    class Meta:
        model = FeedbackEntry
        fields = [
            "id",
            "outcome",
            "kind",
            *FEEDBACK_SCORE_FIELDS,
            "positive_aspects",
            "negative_aspects",
            *FEEDBACK_DETAIL_FIELDS,
            "user",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "user", "created_at", "updated_at"]
        validators = []  # one entry per (user, outcome, kind) is an update, not an error

    def to_internal_value(self, data):
        try:
            return super().to_internal_value(data)
        except ValidationError as invalid:
            self.outcome_checked_now(invalid, data)
            raise

    def outcome_checked_now(self, invalid: ValidationError, data) -> None:
        """Another field is wrong, so the rating whose statement would check the outcome
        (``outcome_visible_id_later``) will not be written: the outcome is checked now, and
        ``invalid`` names every wrong field at once."""
        detail = invalid.detail
        if isinstance(detail, dict) and isinstance(data, Mapping) and "outcome" in data:
            if "outcome" not in detail and (
                errors := self.fields["outcome"].check_now(data["outcome"])
            ):
                detail["outcome"] = errors

    def to_representation(self, entry):
        """The fields above, as DRF renders them, without building a field per model field
        for each serializer (a sixth of the CPU time of rating an output). Times are
        formatted by DRF's own field, in the current time zone; test_entry_representation
        holds the two renderings equal."""
        # Prefetched on lists; only detailed (dashboard) entries carry aspects.
        aspects = list(entry.aspects.all()) if entry.kind == FeedbackKind.DASHBOARD else []
        when = _TIME.to_representation
        return {
            "id": entry.pk,
            "outcome": entry.outcome_id,
            "kind": entry.kind,
            "rating": entry.rating,
            "comment": entry.comment,
            "usefulness": entry.usefulness,
            "quality": entry.quality,
            "clarity": entry.clarity,
            "likelihood_to_reuse": entry.likelihood_to_reuse,
            "would_recommend": entry.would_recommend,
            "positive_aspects": sorted(
                a.code for a in aspects if a.polarity == AspectPolarity.POSITIVE
            ),
            "negative_aspects": sorted(
                a.code for a in aspects if a.polarity == AspectPolarity.NEGATIVE
            ),
            "positive_notes": entry.positive_notes,
            "negative_notes": entry.negative_notes,
            "feature_requests": [str(request) for request in entry.feature_requests],
            "error_category": entry.error_category,
            "error_details": entry.error_details,
            "feedback_source": entry.feedback_source,
            "user": entry.user.username,
            "created_at": when(entry.created_at),
            "updated_at": when(entry.updated_at),
        }


_TIME = serializers.DateTimeField()


class FeedbackUpdateSerializer(FeedbackEntrySerializer):
    """A correction: any field but the outcome and the kind, which name the entry."""

    outcome = serializers.PrimaryKeyRelatedField(read_only=True)
    kind = serializers.CharField(read_only=True)

    class Meta(FeedbackEntrySerializer.Meta):
        read_only_fields = ["id", "user", "created_at", "updated_at", "outcome", "kind"]


class FeedbackQuerySerializer(serializers.Serializer):
    user = serializers.CharField(required=False, max_length=150)
    outcome = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1)
    kind = serializers.ChoiceField(choices=FeedbackKind.choices, required=False)
    since = serializers.DateTimeField(required=False)


_DETAILED_EXAMPLE = {
    "outcome": 412,
    "kind": "dashboard",
    "rating": 4,
    "comment": "Good ask; the greeting could be warmer.",
    "usefulness": 5,
    "likelihood_to_reuse": 8,
    "would_recommend": True,
    "positive_aspects": ["clear", "good-ask"],
    "negative_aspects": ["generic"],
    "negative_notes": "The opening line fits any customer.",
    "feature_requests": ["Offer two meeting slots"],
    "error_category": "tone",
    "error_details": "Too casual for a bank.",
}


@extend_schema_view(
    list=extend_schema(
        summary="List feedback",
        description="A rep sees their own entries; a manager or executive the feedback on "
        "every output they may see. Newest first, cursor-paginated.",
        parameters=[
            OpenApiParameter("user", str, description="username of the rater"),
            OpenApiParameter("outcome", int, description="outcome id"),
            OpenApiParameter("kind", str, enum=FeedbackKind.values),
            OpenApiParameter("since", str, description="ISO time: updated at or after"),
        ],
    ),
    create=extend_schema(
        summary="Rate an output",
        description="201 for a new entry, 200 when it updates yours (one per outcome and kind).",
        examples=[
            OpenApiExample("Inline", value={"outcome": 412, "kind": "inline", "rating": 1}),
            OpenApiExample("Detailed", value=_DETAILED_EXAMPLE),
        ],
    ),
    partial_update=extend_schema(
        summary="Correct your feedback",
        request=FeedbackUpdateSerializer,
        examples=[
            OpenApiExample(
                "Lower the rating", value={"rating": 2, "negative_aspects": ["too-long"]}
            )
        ],
    ),
    update=extend_schema(summary="Replace your feedback", request=FeedbackUpdateSerializer),
    destroy=extend_schema(summary="Withdraw your feedback"),
)
class FeedbackViewSet(
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Feedback entries: rate, list (your own, or your team's), correct and withdraw."""

    serializer_class = FeedbackEntrySerializer
    filter_backends: list = []

    def get_permissions(self):
        if self.action in ("list", "retrieve"):
            return [(HasCapability("feedback.rate") | HasCapability("feedback.view_team"))()]
        return [HasCapability("feedback.rate")()]

    def get_serializer_class(self):
        if self.action in ("update", "partial_update"):
            return FeedbackUpdateSerializer
        return FeedbackEntrySerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return FeedbackEntry.objects.none()
        entries = feedback_visible_to(self.request.user).select_related("user")
        entries = entries.prefetch_related("aspects")
        if self.action != "list":
            return entries
        query = FeedbackQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        if "user" in params:
            entries = entries.filter(user__username=params["user"])
        if "outcome" in params:
            entries = entries.filter(outcome_id=params["outcome"])
        if "kind" in params:
            entries = entries.filter(kind=params["kind"])
        if "since" in params:
            entries = entries.filter(updated_at__gte=params["since"])
        return entries

    def create(self, request, *args, **kwargs):
        if not isinstance(request.user, User):
            raise ValidationError({"detail": "Feedback is given by a person."})
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        data.setdefault("feedback_source", FeedbackSource.API)
        try:
            entry, created = feedback_rate(user=request.user, **data)
        except DjangoValidationError as error:
            invalid = _service_errors(error)
            if isinstance(data["outcome"], VisibleOutcomeId):  # not read yet: read now
                serializer.outcome_checked_now(invalid, request.data)
            raise invalid from error
        except OutcomeRecord.DoesNotExist as missing:  # checked by the rating's statement
            message = serializer.fields["outcome"].error_messages["does_not_exist"]
            raise ValidationError(
                {"outcome": [message.format(pk_value=request.data["outcome"])]}
            ) from missing
        # Answered by the serializer that read it, its fields bound once (as save() does).
        serializer.instance = entry
        return Response(
            serializer.data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )

    def update(self, request, *args, **kwargs):
        entry = self.get_object()
        if entry.user_id != request.user.pk:
            raise PermissionDenied("Only the author can change this feedback.")
        partial = kwargs.pop("partial", False)
        serializer = self.get_serializer(entry, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        try:
            entry = feedback_update(entry=entry, user=request.user, **serializer.validated_data)
        except DjangoValidationError as error:
            raise _service_errors(error) from error
        return Response(self.get_serializer(self.get_queryset().get(pk=entry.pk)).data)

    def destroy(self, request, *args, **kwargs):
        entry = self.get_object()
        if entry.user_id != request.user.pk:
            raise PermissionDenied("Only the author can withdraw this feedback.")
        feedback_withdraw(entry=entry, user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class LearningSerializer(serializers.ModelSerializer):
    action_type = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    rank = serializers.FloatField(read_only=True)
    current_decay = serializers.FloatField(read_only=True)
    kept = serializers.SerializerMethodField()

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
            "lift",
            "lift_low",
            "lift_high",
            "lift_sample",
            "lift_control_sample",
            "is_hurting",
            "kept",
            "is_active",
            "last_success_at",
            "last_applied_at",
        ]
        read_only_fields = fields

    def get_kept(self, learning: Learning) -> bool:
        return learning.kept_at is not None


class LearningCreateSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    guidance = serializers.CharField(max_length=4000)
    category = serializers.ChoiceField(
        choices=LearningCategory.choices, default=LearningCategory.GENERAL
    )
    action_type = serializers.SlugRelatedField(
        slug_field="code", queryset=ActionType.objects.all(), required=False, allow_null=True
    )
    relevance_score = serializers.FloatField(min_value=0, max_value=1, default=0.5)


class LearningQuerySerializer(serializers.Serializer):
    action_type = serializers.SlugField(required=False, allow_blank=True)
    category = serializers.ChoiceField(
        choices=LearningCategory.choices, required=False, allow_blank=True
    )
    limit = serializers.IntegerField(required=False, min_value=1, max_value=100, default=10)
    include_hurting = serializers.BooleanField(required=False, default=False)


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
    applied_by = UserRef(read_only=True)

    class Meta:
        model = LearningApplication
        fields = [
            "id",
            "outcome",
            "outcome_record",
            "context",
            "metadata",
            "applied_at",
            "applied_by",
        ]
        read_only_fields = ["id", "applied_by"]

    def validate_metadata(self, value):
        if not isinstance(value, dict):
            raise serializers.ValidationError("Must be a JSON object.")
        return value


_CREATE_EXAMPLE = {
    "title": "Name the customer's last ticket in the first line",
    "guidance": "Open follow-ups by naming the ticket the customer raised last week.",
    "category": "phrasing",
    "action_type": "email_sent",
    "relevance_score": 0.7,
}


class LearningViewSet(viewsets.GenericViewSet):
    """Learnings ranked for the agent (relevance × confidence × decay); write one; record
    and read its uses; keep or retire one that hurts."""

    serializer_class = LearningSerializer
    pagination_class = None
    filter_backends: list = []

    def get_permissions(self):
        if self.action == "applications" and self.request.method == "POST":
            capability = "learnings.apply"
        elif self.action in ("create", "keep", "retire"):
            capability = "learnings.manage"
        else:
            capability = "learnings.read"
        return [HasCapability(capability)()]

    def get_queryset(self):
        if self.action in ("keep", "retire"):
            return Learning.objects.all()
        return Learning.objects.filter(is_active=True)

    def _ranked(self, learning: Learning) -> dict:
        row = learnings_ranked(active=None, include_hurting=True).get(pk=learning.pk)
        return LearningSerializer(row).data

    @extend_schema(
        summary="Ranked learnings",
        description="Active learnings, best first. A learning whose lift interval lies "
        "wholly below zero (``is_hurting``) is left out until a manager keeps it; "
        "``include_hurting=true`` lists it too.",
        parameters=[
            OpenApiParameter("action_type", str, description="action type code"),
            OpenApiParameter("category", str, enum=LearningCategory.values),
            OpenApiParameter("limit", int, description="1-100, default 10"),
            OpenApiParameter("include_hurting", bool, description="default false"),
        ],
        responses=LearningSerializer(many=True),
    )
    def list(self, request):
        query = LearningQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        learnings = learnings_ranked(
            action_type=params.get("action_type", ""),
            category=params.get("category", ""),
            include_hurting=params["include_hurting"],
        )[: params["limit"]]
        return Response(LearningSerializer(learnings, many=True).data)

    @extend_schema(
        summary="Write a learning",
        description="A manager writes a learning. With no evidence yet its confidence is 0.5.",
        request=LearningCreateSerializer,
        responses={201: LearningSerializer},
        examples=[OpenApiExample("A manager's learning", value=_CREATE_EXAMPLE)],
    )
    def create(self, request):
        serializer = LearningCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = request.user if isinstance(request.user, User) else None
        try:
            learning = learning_create(created_by=user, **serializer.validated_data)
        except DjangoValidationError as error:
            raise _service_errors(error) from error
        return Response(self._ranked(learning), status=status.HTTP_201_CREATED)

    @extend_schema(
        methods=["GET"],
        summary="A learning's uses",
        description="Newest first, cursor-paginated.",
        parameters=[
            OpenApiParameter("cursor", str, description="from ``next`` or ``previous``"),
            OpenApiParameter("page_size", int, description="1-500, default 50"),
        ],
        responses=inline_serializer(
            "PaginatedLearningApplicationList",
            fields={
                "next": serializers.URLField(allow_null=True),
                "previous": serializers.URLField(allow_null=True),
                "results": LearningApplicationSerializer(many=True),
            },
        ),
    )
    @extend_schema(
        methods=["POST"],
        summary="Record a use",
        request=LearningApplicationSerializer,
        responses={201: LearningSerializer},
        examples=[
            OpenApiExample(
                "A use that worked",
                value={"outcome": "success", "outcome_record": "out-9812", "context": "deal 7"},
            )
        ],
    )
    @action(detail=True, methods=["get", "post"])
    def applications(self, request, pk=None):
        learning = self.get_object()
        if request.method == "GET":
            return self._applications_page(request, learning)
        serializer = LearningApplicationSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = request.user if isinstance(request.user, User) else None
        application, learning = learning_application_record(
            learning=learning, applied_by=user, **serializer.validated_data
        )
        body = self._ranked(learning) | {
            "application": LearningApplicationSerializer(application).data
        }
        return Response(body, status=status.HTTP_201_CREATED)

    def _applications_page(self, request, learning: Learning) -> Response:
        paginator = _ApplicationPagination()
        page = paginator.paginate_queryset(learning_applications(learning), request, view=self)
        data = LearningApplicationSerializer(page, many=True).data
        return paginator.get_paginated_response(data)

    @extend_schema(
        summary="Keep a hurting learning", request=None, responses={200: LearningSerializer}
    )
    @action(detail=True, methods=["post"])
    def keep(self, request, pk=None):
        """The manager decides the learning stays in the agent's list despite its lift."""
        learning = learning_keep(learning=self.get_object(), user=request.user)
        return Response(self._ranked(learning))

    @extend_schema(summary="Retire a learning", request=None, responses={200: LearningSerializer})
    @action(detail=True, methods=["post"])
    def retire(self, request, pk=None):
        """The learning leaves the agent's list (inactive; its history stays)."""
        learning = learning_retire(learning=self.get_object())
        return Response(self._ranked(learning))


class _ApplicationPagination(pagination.CursorPagination):
    """Newest use first; stable under equal times."""

    ordering = ("-applied_at", "-id")
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


router = SimpleRouter()
router.register("feedback", FeedbackViewSet, basename="api-feedback")
router.register("learnings", LearningViewSet, basename="api-learnings")
urlpatterns = router.urls
