"""Approvals API: the agent proposes and polls; managers decide; the agent reports results."""

from __future__ import annotations

from django.db.models import Q
from django.http import Http404
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action as route
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from apps.agents.api import CloneRef
from apps.approvals.models import ActionStatus, Category, ProposedAction
from apps.approvals.notifications import may_decide
from apps.approvals.selectors import (
    action_get,
    action_public_data,
    actions_visible_to,
    sees_every_action,
)
from apps.approvals.services import (
    DecisionConflict,
    ResultConflict,
    action_decide,
    action_propose,
    action_record_result,
)
from apps.crm.api import AccountRef, DealRef
from apps.users.models import ApiKey
from apps.users.permissions import CapabilityPerAction
from apps.web.api_errors import Conflict
from apps.web.api_fields import FieldsBuiltOnce
from apps.web.htmx import client_ip


class ProposeSerializer(serializers.Serializer):
    external_id = serializers.CharField(max_length=200)
    action_type = serializers.SlugField(max_length=50)
    account = AccountRef()
    deal = DealRef(required=False, allow_null=True)
    clone = CloneRef(required=False, allow_null=True)
    payload = serializers.DictField(required=False, default=dict)
    rationale = serializers.CharField(max_length=5000, allow_blank=True, default="")
    amount = serializers.DecimalField(
        max_digits=14, decimal_places=2, min_value=0, required=False, allow_null=True
    )
    discount_pct = serializers.DecimalField(
        max_digits=5, decimal_places=2, min_value=0, max_value=100, required=False, allow_null=True
    )
    confidence = serializers.FloatField(min_value=0, max_value=1, required=False, allow_null=True)


class ActionSerializer(serializers.Serializer):
    """The action as the agent sees it (read-only)."""

    id = serializers.IntegerField()
    external_id = serializers.CharField()
    action_type = serializers.CharField()
    account = serializers.CharField()
    deal = serializers.CharField(allow_null=True)
    clone = serializers.CharField(allow_null=True)
    payload = serializers.DictField(help_text="What the agent proposed.")
    final_payload = serializers.DictField(
        help_text="What to execute: the approver's edited version, else the payload."
    )
    edited = serializers.BooleanField()
    rationale = serializers.CharField()
    amount = serializers.CharField(allow_null=True)
    discount_pct = serializers.CharField(allow_null=True)
    confidence = serializers.FloatField(allow_null=True)
    calibrated_confidence = serializers.FloatField(allow_null=True)
    category = serializers.ChoiceField(choices=Category.choices)
    status = serializers.ChoiceField(choices=ActionStatus.choices)
    reasons = serializers.ListField(child=serializers.CharField())
    risk = serializers.IntegerField()
    proposed_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField(allow_null=True)
    decided_by = serializers.CharField(allow_null=True)
    decided_at = serializers.DateTimeField(allow_null=True)
    decision_reason = serializers.CharField()
    executed_at = serializers.DateTimeField(allow_null=True)
    result = serializers.DictField(allow_null=True)
    outcome = serializers.IntegerField(allow_null=True)

    def to_representation(self, instance: ProposedAction) -> dict:
        return action_public_data(instance)


class DecisionSerializer(FieldsBuiltOnce, serializers.Serializer):
    decision = serializers.ChoiceField(choices=["approve", "reject"])
    reason = serializers.CharField(max_length=2000, allow_blank=True, default="")
    payload = serializers.DictField(
        required=False,
        help_text="Approve an edited version: the whole payload to execute (checked per "
        "action type). Only with decision 'approve'.",
    )


class ResultSerializer(serializers.Serializer):
    success = serializers.BooleanField(default=True)
    executed_at = serializers.DateTimeField(required=False, allow_null=True)
    output_text = serializers.CharField(max_length=50_000, allow_blank=True, default="")
    details = serializers.DictField(required=False, default=dict)
    confidence = serializers.FloatField(min_value=0, max_value=1, required=False, allow_null=True)


class ResultResponseSerializer(ActionSerializer):
    outcome_note = serializers.CharField()


def _conflict(error: DecisionConflict) -> Response:
    action = error.action
    return Response(
        {
            "detail": str(error),
            "status": action.status,
            "decided_by": action.decided_by.username if action.decided_by_id else None,
            "decided_at": action.decided_at,
            "decision_reason": action.decision_reason,
        },
        status=status.HTTP_409_CONFLICT,
    )


class MayDecide(BasePermission):
    """Approvers, and approvers' delegates while the delegation runs (never an agent)."""

    message = "Your role is not allowed to do this."

    def has_permission(self, request, view) -> bool:
        user = request.user
        if getattr(user, "is_agent", False):
            return True  # refused with a clearer message by the view
        return bool(user and user.is_authenticated and may_decide(user))


class ActionViewSet(CapabilityPerAction, mixins.ListModelMixin, viewsets.GenericViewSet):
    """Proposed actions. The agent proposes and polls; managers and admins decide."""

    serializer_class = ActionSerializer
    filterset_fields = ["status", "action_type", "category"]

    capabilities = {
        "create": "actions.propose",
        "result": "actions.report_result",
        "*": "actions.read",
    }

    def get_permissions(self):
        if self.action == "decision":
            return [MayDecide()]
        return super().get_permissions()

    def get_queryset(self):
        return actions_visible_to(self.request.user).select_related(
            "account", "deal", "clone", "decided_by"
        )

    def filter_queryset(self, queryset):
        # A browser decision inside its undo window reads as pending to the agent
        # (selectors.action_public_data); the status filter agrees with what it shows.
        status_wanted = self.request.query_params.get("status")
        if self.action != "list" or status_wanted not in ActionStatus.values:
            return super().filter_queryset(queryset)
        params = self.request.query_params.copy()
        params.pop("status")
        original, self.request._request.GET = self.request._request.GET, params
        try:  # the other filters as usual; status is applied below
            queryset = super().filter_queryset(queryset)
        finally:
            self.request._request.GET = original
        in_window = Q(
            status__in=[ActionStatus.APPROVED, ActionStatus.REJECTED],
            visible_at__gt=timezone.now(),
        )
        if status_wanted == ActionStatus.PENDING:
            return queryset.filter(Q(status=ActionStatus.PENDING) | in_window)
        return queryset.filter(status=status_wanted).exclude(in_window)

    def _id(self, pk: str) -> int:
        try:
            return int(pk)
        except ValueError as missing:
            raise Http404 from missing

    def _get(self, pk: str) -> ProposedAction:
        try:
            return action_get(self._id(pk), user=self.request.user)
        except ProposedAction.DoesNotExist as missing:
            raise Http404 from missing

    def _input(self, serializer_class: type[serializers.Serializer]) -> dict:
        """The request body, validated (400 otherwise), and the caller's IP: the keywords
        every write service here takes from the request."""
        incoming = serializer_class(data=self.request.data)
        incoming.is_valid(raise_exception=True)
        return {**incoming.validated_data, "ip": client_ip(self.request)}

    @extend_schema(
        request=ProposeSerializer, responses={201: ActionSerializer, 200: ActionSerializer}
    )
    def create(self, request, *args, **kwargs):
        action, created = action_propose(
            proposed_by=str(request.user), **self._input(ProposeSerializer)
        )
        return Response(
            ActionSerializer(action).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )

    def retrieve(self, request, pk=None):
        return Response(ActionSerializer(self._get(pk)).data)

    @extend_schema(
        request=DecisionSerializer, responses={200: ActionSerializer, 409: None, 403: None}
    )
    @route(detail=True, methods=["post"])
    def decision(self, request, pk=None):
        # Separation of duties: the agent never decides, whatever roles say.
        if getattr(request.user, "is_agent", False):
            raise PermissionDenied("An agent key can never decide on proposals.")
        # Who sees every action is not read first: deciding reads the action back.
        action = None if sees_every_action(request.user) else self._get(pk)
        incoming = self._input(DecisionSerializer)
        try:
            decided = action_decide(
                action_id=action.pk if action else self._id(pk),
                user=request.user,
                via="api",
                api_key=request.auth if isinstance(request.auth, ApiKey) else None,
                action=action,
                **incoming,
            )
        except ProposedAction.DoesNotExist as missing:
            raise Http404 from missing
        except DecisionConflict as conflict:
            return _conflict(conflict)
        return Response(ActionSerializer(decided).data)

    @extend_schema(request=ResultSerializer, responses={200: ResultResponseSerializer, 409: None})
    @route(detail=True, methods=["post"])
    def result(self, request, pk=None):
        action = self._get(pk)
        incoming = self._input(ResultSerializer)
        try:
            recorded = action_record_result(
                action_id=action.pk, reported_by=str(request.user), **incoming
            )
        except ResultConflict as conflict:
            raise Conflict(str(conflict)) from conflict
        return Response(
            {**ActionSerializer(recorded.action).data, "outcome_note": recorded.outcome_note}
        )


router = SimpleRouter()
router.register("actions", ActionViewSet, basename="api-actions")
urlpatterns = router.urls
