"""Reviews API: scores from people and evaluators, review queues, examples, the dataset."""

from __future__ import annotations

from django.db.models import Count, F, Q
from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter
from rest_framework.views import APIView

from apps.agents.api import CloneRef
from apps.feedback.selectors import outcomes_visible_to
from apps.outcomes.models import ActionType, OutcomeStatus
from apps.reviews.dataset import dataset_download
from apps.reviews.models import Origin, ReviewQueue, Rubric, ScoreSource
from apps.reviews.selectors import (
    EXAMPLES_MAX,
    examples,
    queue_progress,
    queues_visible_to,
)
from apps.reviews.services import queue_save, score_record
from apps.users.api import UserRef
from apps.users.models import User
from apps.users.permissions import HasCapability
from apps.users.roles import Role
from apps.web.replica import ReadsFromReplica

MAX_ID = 2**63 - 1  # PostgreSQL bigint


class ScoreSerializer(serializers.Serializer):
    outcome = serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_ID, help_text="the outcome's id"
    )
    outcome_external_id = serializers.CharField(required=False, max_length=200)
    rubric = serializers.CharField(max_length=100, help_text="the rubric's id or name")
    value = serializers.JSONField(help_text="number, label or yes/no, per the rubric")
    source = serializers.ChoiceField(choices=ScoreSource.choices, required=False)
    evaluator = serializers.CharField(required=False, allow_blank=True, max_length=100)
    comment = serializers.CharField(required=False, allow_blank=True, max_length=2000)

    def validate(self, attrs):
        user = self.context["request"].user
        person = isinstance(user, User)
        source = attrs.get("source") or (ScoreSource.HUMAN if person else ScoreSource.API)
        if source == ScoreSource.HUMAN and not person:
            raise ValidationError({"source": "An agent key scores with source 'api'."})
        if source == ScoreSource.API and not attrs.get("evaluator", "").strip():
            raise ValidationError({"evaluator": "Name the evaluator of an automated score."})
        attrs["source"] = source
        outcomes = outcomes_visible_to(user)
        if "outcome" in attrs:
            outcome = outcomes.filter(pk=attrs["outcome"]).first()
        elif "outcome_external_id" in attrs:
            outcome = outcomes.filter(external_id=attrs["outcome_external_id"]).first()
        else:
            raise ValidationError({"outcome": "Give the outcome's id or outcome_external_id."})
        if outcome is None:
            raise ValidationError({"outcome": "No such outcome."})
        attrs["outcome"] = outcome
        reference = attrs["rubric"].strip()
        lookup = Q(name__iexact=reference)
        if reference.isdigit() and int(reference) <= MAX_ID:
            lookup |= Q(pk=int(reference))
        rubric = Rubric.objects.filter(lookup).first()
        if rubric is None:
            raise ValidationError({"rubric": "No such rubric."})
        attrs["rubric"] = rubric
        return attrs


def score_payload(score) -> dict:
    return {
        "id": score.pk,
        "outcome": score.outcome_id,
        "rubric": score.rubric.name,
        "rubric_id": score.rubric_id,
        "value": score.value,
        "source": score.source,
        "user": score.user.username if score.user_id else None,
        "evaluator": score.evaluator or None,
        "comment": score.comment,
        "updated_at": score.updated_at,
    }


class ScoreView(APIView):
    """A score against a rubric: a person's (personal key or session, ``source: human``)
    or an automated evaluator's (``source: api``, with ``evaluator``). 201 new, 200 when
    it updates the same author's score."""

    permission_classes = [HasCapability("scores.write")]

    @extend_schema(request=ScoreSerializer, responses={201: dict, 200: dict})
    def post(self, request):
        serializer = ScoreSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        person = data["source"] == ScoreSource.HUMAN
        score, created = score_record(
            outcome=data["outcome"],
            rubric=data["rubric"],
            value=data["value"],
            user=request.user if person else None,
            evaluator="" if person else data["evaluator"],
            comment=data.get("comment", ""),
        )
        return Response(
            score_payload(score), status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )


class ReviewQueueSerializer(serializers.ModelSerializer):
    rubrics = serializers.SlugRelatedField(
        slug_field="name", many=True, queryset=Rubric.objects.filter(is_active=True)
    )
    action_types = serializers.SlugRelatedField(
        slug_field="code", many=True, required=False, queryset=ActionType.objects.all()
    )
    clones = CloneRef(many=True, required=False)
    reviewers = UserRef(many=True, required=False)
    reviewer_roles = serializers.ListField(
        child=serializers.ChoiceField(choices=Role.choices), required=False
    )
    outcome_status = serializers.ChoiceField(
        choices=OutcomeStatus.choices, required=False, allow_blank=True
    )
    origin = serializers.ChoiceField(choices=Origin.choices, required=False, allow_blank=True)
    sample_rate = serializers.FloatField(
        min_value=0, max_value=1, required=False, help_text="share admitted, 0.1 = 10 %"
    )
    min_confidence = serializers.FloatField(
        min_value=0, max_value=1, required=False, allow_null=True
    )
    max_confidence = serializers.FloatField(
        min_value=0, max_value=1, required=False, allow_null=True
    )
    reviews_needed = serializers.IntegerField(min_value=1, max_value=3, required=False)
    disagreement_threshold = serializers.FloatField(min_value=0, max_value=1, required=False)
    progress = serializers.SerializerMethodField()

    class Meta:
        model = ReviewQueue
        fields = [
            "id",
            "name",
            "description",
            "rubrics",
            "action_types",
            "clones",
            "min_confidence",
            "max_confidence",
            "outcome_status",
            "origin",
            "sample_rate",
            "reviewers",
            "reviewer_roles",
            "reviews_needed",
            "disagreement_threshold",
            "is_active",
            "created_at",
            "progress",
        ]
        read_only_fields = ["id", "created_at", "progress"]

    def get_progress(self, queue) -> dict:
        if hasattr(queue, "item_count"):
            return {"items": queue.item_count, "complete": queue.complete_count}
        progress = queue_progress(queue, self.context["request"].user)
        return {
            "items": progress.items,
            "complete": progress.complete,
            "reviews": progress.reviews,
            "mine": progress.mine,
        }

    def to_representation(self, queue):
        data = super().to_representation(queue)
        data["sample_rate"] = queue.sample_rate_bp / 10000
        return data


class ReviewQueueViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Review queues the caller sees (a rep: the ones assigned to them) and their progress;
    managers create queues."""

    serializer_class = ReviewQueueSerializer

    def get_permissions(self):
        capability = "reviews.manage" if self.request.method == "POST" else "reviews.review"
        return [HasCapability(capability)()]

    def get_queryset(self):
        queues = queues_visible_to(self.request.user).prefetch_related(
            "rubrics", "action_types", "clones", "reviewers"
        )
        if self.action == "list":
            queues = queues.annotate(
                item_count=Count("items", distinct=True),
                complete_count=Count(
                    "items",
                    filter=Q(items__reviews_done__gte=F("reviews_needed")),
                    distinct=True,
                ),
            )
        return queues.order_by("name")

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        rate = data.pop("sample_rate", 1.0)
        queue = queue_save(
            created_by=request.user if isinstance(request.user, User) else None,
            sample_rate_bp=round(rate * 10000),
            **data,
        )
        return Response(self.get_serializer(queue).data, status=status.HTTP_201_CREATED)


class ExampleQuerySerializer(serializers.Serializer):
    action_type = serializers.CharField(required=False, allow_blank=True, max_length=50)
    clone = serializers.CharField(required=False, allow_blank=True, max_length=100)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=EXAMPLES_MAX, default=5)


class ExamplesView(APIView):
    """The best few examples for few-shot prompting: corrections and approvers' edits first
    (most recent first), then the highest-scored outputs; one per output and per text."""

    permission_classes = [HasCapability("examples.read")]

    @extend_schema(
        parameters=[
            OpenApiParameter("action_type", str, description="action type code"),
            OpenApiParameter("clone", str, description="clone external id"),
            OpenApiParameter("limit", int, description=f"1-{EXAMPLES_MAX}, default 5"),
        ],
        responses=dict,
    )
    def get(self, request):
        query = ExampleQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        return Response({"results": examples(**query.validated_data)})


class DatasetQuerySerializer(serializers.Serializer):
    file = serializers.ChoiceField(choices=["csv", "jsonl"], default="jsonl")
    queue = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    since = serializers.DateTimeField(required=False)
    until = serializers.DateTimeField(required=False)
    action_type = serializers.CharField(required=False, allow_blank=True, max_length=50)
    clone = serializers.CharField(required=False, allow_blank=True, max_length=100)


class DatasetView(ReadsFromReplica, APIView):
    """Every reviewed item with its context, output, correction and scores, streamed as
    JSON Lines (fine-tuning records) or CSV (``file=csv``)."""

    permission_classes = [HasCapability("feedback.export")]

    @extend_schema(
        parameters=[DatasetQuerySerializer],
        responses={
            (200, "application/x-ndjson"): OpenApiTypes.STR,
            (200, "text/csv"): OpenApiTypes.STR,
        },
    )
    def get(self, request):
        query = DatasetQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = dict(query.validated_data)
        if (
            data.get("queue")
            and not queues_visible_to(request.user).filter(pk=data["queue"]).exists()
        ):
            raise ValidationError({"queue": "No such queue."})
        return dataset_download(request, **data)


router = SimpleRouter()
router.register("review-queues", ReviewQueueViewSet, basename="api-review-queues")
urlpatterns = [
    *router.urls,
    path("scores/", ScoreView.as_view(), name="api-scores"),
    path("examples/", ExamplesView.as_view(), name="api-examples"),
    path("review-dataset/", DatasetView.as_view(), name="api-review-dataset"),
]
