"""Outcomes API: record actions (one or bulk), list and read them, read calibration."""

from __future__ import annotations

import math

import django_filters
from django.http import Http404, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404
from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter
from rest_framework.views import APIView

from apps.agents.api import CloneRef
from apps.agents.models import Clone
from apps.crm.api import AccountRef, DealRef
from apps.outcomes.models import RECORDED_FIELDS, ActionType, OutcomeRecord, OutcomeStatus
from apps.outcomes.selectors import (
    calibrated_confidence,
    calibration_report,
    outcome_get,
    outcomes_visible_to,
)
from apps.outcomes.services import (
    MAX_OUTPUT_TEXT,
    OutcomeDeleted,
    outcome_correct,
    outcome_delete,
    outcome_record_item,
    outcomes_record_bulk_json,
)
from apps.outcomes.services.corrections import CORRECTABLE, NOT_CORRECTABLE_MESSAGE
from apps.users.models import ApiKey
from apps.users.permissions import CapabilityPerAction, HasCapability
from apps.web.api_errors import PayloadTooLarge

# 1,000 actions of ordinary size are well under 1 MB; this leaves room for long outputs.
MAX_BULK_BYTES = 64 * 2**20


# What the server sets as the outcome resolves; the API shows these and never takes them.
_RESOLUTION_FIELDS = [
    "status",
    "score",
    "window_ends_at",
    "resolved_at",
    "resolution_note",
    "created_at",
]


class OutcomeSerializer(serializers.ModelSerializer):
    """An agent action as the agent sent it, plus what came of it.

    Renders records and describes the payload (OpenAPI); recording does not validate with
    it: both POST endpoints hold an action to the bulk statement's rules (one statement).
    """

    external_id = serializers.CharField(max_length=200, validators=[])
    action_type = serializers.SlugRelatedField(
        slug_field="code", queryset=ActionType.objects.filter(is_active=True)
    )
    account = AccountRef()
    deal = DealRef(required=False, allow_null=True)
    clone = CloneRef(required=False, allow_null=True)
    predicted_confidence = serializers.FloatField(min_value=0, max_value=1)
    occurred_at = serializers.DateTimeField(required=False)
    output_text = serializers.CharField(
        required=False, allow_blank=True, max_length=MAX_OUTPUT_TEXT, trim_whitespace=False
    )
    metadata = serializers.DictField(required=False)

    class Meta:
        model = OutcomeRecord
        fields = ["id", *RECORDED_FIELDS, *_RESOLUTION_FIELDS]
        read_only_fields = ["id", *_RESOLUTION_FIELDS]

    def to_representation(self, record: OutcomeRecord) -> dict:
        """The fields above, as DRF renders them, without building a field per model field
        for each serializer (a fifth of the CPU time of reading one record). Times are
        formatted by DRF's own field, in the current time zone; test_outcome_representation
        holds the two renderings equal."""
        when = _TIME.to_representation
        return {
            "id": record.pk,
            "external_id": record.external_id,
            "action_type": record.action_type.code,
            "account": record.account.external_id,
            "deal": record.deal.external_id if record.deal_id else None,
            "clone": record.clone.external_id if record.clone_id else None,
            "predicted_confidence": record.predicted_confidence,
            "occurred_at": when(record.occurred_at),
            "output_text": record.output_text,
            "metadata": _METADATA.to_representation(record.metadata),
            "status": record.status,
            "score": record.score,
            "window_ends_at": when(record.window_ends_at),
            "resolved_at": when(record.resolved_at),
            "resolution_note": record.resolution_note,
            "created_at": when(record.created_at),
        }


_TIME = serializers.DateTimeField()
_METADATA = serializers.DictField()


class OutcomeCorrectionSerializer(serializers.Serializer):
    """What ``PATCH /outcomes/{id}/`` may correct; identity fields are refused by name."""

    # Types and references here; the value rules (length, NULs, the deal's account) are
    # the correction service's, which states them with the recording paths' messages.
    metadata = serializers.JSONField(required=False)
    output_text = serializers.JSONField(required=False)
    deal = DealRef(required=False, allow_null=True)
    clone = serializers.SlugRelatedField(
        slug_field="external_id", queryset=Clone.objects.all(), required=False, allow_null=True
    )

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise serializers.ValidationError({"detail": ["A JSON object is required."]})
        refused = {name: [NOT_CORRECTABLE_MESSAGE] for name in data if name not in CORRECTABLE}
        if refused:
            raise serializers.ValidationError(refused)
        return super().to_internal_value(data)


def _actor(request) -> str:
    """Who made a change, for the record's history: the user (or agent key) and the key."""
    key = request.auth if isinstance(request.auth, ApiKey) else None
    who = request.user.get_username()
    return f"{who} (key {key.prefix}…)" if key is not None and key.user_id else who


class OutcomeFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=OutcomeStatus.choices)
    action_type = django_filters.CharFilter(field_name="action_type__code")
    account = django_filters.CharFilter(field_name="account__external_id")
    clone = django_filters.CharFilter(field_name="clone__external_id")

    class Meta:
        model = OutcomeRecord
        fields = ["status", "action_type", "account", "clone"]


BulkResponse = inline_serializer(
    "OutcomeBulkResponse",
    {
        "created": serializers.IntegerField(),
        "existing": serializers.IntegerField(),
        "failed": serializers.IntegerField(),
        "results": serializers.ListField(child=serializers.DictField()),
    },
)


class OutcomeViewSet(
    CapabilityPerAction,
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Agent actions. POST is idempotent on ``external_id``: 201 new, 200 the existing record
    (409 when that record was deleted). PATCH corrects, DELETE soft-deletes."""

    serializer_class = OutcomeSerializer
    filterset_class = OutcomeFilter

    capabilities = {
        "list": "outcomes.read",
        "retrieve": "outcomes.read",
        "partial_update": "outcomes.correct",
        "destroy": "outcomes.correct",
        "*": "outcomes.record",
    }

    def get_queryset(self):
        return outcomes_visible_to(self.request.user)

    def retrieve(self, request, pk=None):
        """One outcome, read by ``outcome_get`` (SQL compiled once for who sees them all)."""
        try:
            outcome = outcome_get(pk, user=request.user)
        except (OutcomeRecord.DoesNotExist, ValueError) as missing:
            raise Http404 from missing
        self.check_object_permissions(request, outcome)
        return Response(self.get_serializer(outcome).data)

    @extend_schema(
        request=OutcomeSerializer,
        responses={201: OutcomeSerializer, 200: OutcomeSerializer, 409: OpenApiTypes.OBJECT},
    )
    def create(self, request, *args, **kwargs):
        """Record one action: a one-item call of the bulk statement, so both endpoints hold
        an action to the same rules and answer the same messages (the serializer only
        describes the payload and renders the record)."""
        item = request.data.dict() if isinstance(request.data, QueryDict) else request.data
        try:
            record, created = outcome_record_item(item=item)
        except OutcomeDeleted as deleted:
            return Response(
                {"detail": deleted.text, "id": deleted.record.pk},
                status=status.HTTP_409_CONFLICT,
            )
        return Response(
            self.get_serializer(record).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )

    @extend_schema(request=OutcomeCorrectionSerializer, responses={200: OutcomeSerializer})
    def partial_update(self, request, *args, **kwargs):
        """Correct ``metadata``, ``output_text``, ``deal`` or ``clone`` (agent key or admin).

        ``external_id``, ``action_type``, ``account`` and every other field answer 400.
        The change is kept in the record's history (who, when, old and new values).
        """
        record = self.get_object()
        correction = OutcomeCorrectionSerializer(data=request.data)
        correction.is_valid(raise_exception=True)
        record = outcome_correct(
            outcome=record, actor=_actor(request), changes=correction.validated_data
        )
        return Response(self.get_serializer(record).data)

    @extend_schema(responses={204: None})
    def destroy(self, request, *args, **kwargs):
        """Soft delete (agent key or admin): the record leaves lists, dashboards and
        calibration; re-posting its external_id then answers 409. An admin can restore it."""
        outcome_delete(outcome=self.get_object(), actor=_actor(request))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        request=inline_serializer(
            "OutcomeBulkRequest", {"outcomes": serializers.ListField(child=OutcomeSerializer())}
        ),
        responses={200: BulkResponse},
    )
    @action(detail=False, methods=["post"], url_path="bulk")
    def bulk(self, request):
        """Up to 1,000 actions (``{"outcomes": [...]}`` or a bare list); a result per item.

        Good items are stored, bad ones are reported with field errors; the call answers
        200 with counts and per-item results, or 400 when the envelope itself is wrong.
        """
        if request.content_type.split(";")[0].strip() != "application/json":
            raise exceptions.UnsupportedMediaType(request.content_type)
        try:
            size = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            size = 0  # then the stream is empty too: a JSON parse error below
        if size > MAX_BULK_BYTES:
            raise PayloadTooLarge(
                f"At most {MAX_BULK_BYTES // 2**20} MB per call ({size:,} bytes sent);"
                " send fewer actions per call."
            )
        # The body goes to the service as sent: checked, stored and answered in one SQL
        # statement, without a Python object per item (see outcomes_record_bulk_json).
        # Read from the stream, as DRF's parsers do: Django's request.body stops at 2.5 MB.
        document = request.stream.read() if request.stream is not None else b""
        return HttpResponse(
            outcomes_record_bulk_json(document=document), content_type="application/json"
        )


class CalibrationView(APIView):
    """The reliability bins of an action type, with ECE, Brier score and sample size."""

    permission_classes = [HasCapability("calibration.read")]

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "confidence",
                OpenApiTypes.FLOAT,
                description="a raw confidence in [0, 1]; adds calibrated_confidence "
                "(isotonic fit of the bins, monotone in the raw value)",
            )
        ],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request, action_type: str):
        kind = get_object_or_404(ActionType, code=action_type)
        report = calibration_report(action_type=kind)
        raw = request.query_params.get("confidence")
        if raw is not None:
            try:
                confidence = float(raw)
            except ValueError:
                confidence = math.nan
            if not 0 <= confidence <= 1:
                raise serializers.ValidationError(
                    {"confidence": ["A number between 0 and 1 is required."]}
                )
            report["confidence"] = confidence
            report["calibrated_confidence"] = calibrated_confidence(
                action_type_code=kind.code, confidence=confidence
            )
        return Response(report)


router = SimpleRouter()
router.register("outcomes", OutcomeViewSet, basename="api-outcomes")
urlpatterns = [
    *router.urls,
    path("calibration/<slug:action_type>/", CalibrationView.as_view(), name="api-calibration"),
]
