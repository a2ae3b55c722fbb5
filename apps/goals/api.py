"""Goals API: list the goals the caller sees; managers and admins create goals."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from apps.agents.api import CloneRef
from apps.goals.models import Goal, GoalType
from apps.goals.selectors import goals_visible_to
from apps.goals.services import goal_create
from apps.users.api import UserRef
from apps.users.permissions import HasCapability


class GoalSerializer(serializers.ModelSerializer):
    goal_type = serializers.ChoiceField(choices=GoalType.choices)
    target = serializers.DecimalField(max_digits=14, decimal_places=2)
    clone = CloneRef(required=False, allow_null=True)
    owner = UserRef(required=False, allow_null=True)
    progress_pct = serializers.IntegerField(read_only=True)

    class Meta:
        model = Goal
        fields = [
            "id",
            "name",
            "goal_type",
            "target",
            "current_value",
            "progress_pct",
            "period_start",
            "period_end",
            "clone",
            "owner",
            "status",
            "completed_at",
            "progress_updated_at",
            "created_at",
        ]
        read_only_fields = [
            "id",
            "current_value",
            "status",
            "completed_at",
            "progress_updated_at",
            "created_at",
        ]

    def validate(self, attrs):
        # The same rules as the admin form (Goal.clean), reported per field.
        try:
            Goal(**attrs).clean()
        except DjangoValidationError as error:
            raise ValidationError(error.message_dict) from error
        return attrs


class GoalViewSet(mixins.ListModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    """Goals with progress computed from the data. Filters: status, goal_type, clone."""

    serializer_class = GoalSerializer
    filterset_fields = {
        "status": ["exact"],
        "goal_type": ["exact"],
        "clone__external_id": ["exact"],
    }

    def get_permissions(self):
        capability = "goals.write" if self.request.method == "POST" else "goals.read"
        return [HasCapability(capability)()]

    def get_queryset(self):
        goals = goals_visible_to(self.request.user)
        clone = self.request.query_params.get("clone")
        if clone:
            goals = goals.filter(clone__external_id=clone)
        return goals

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            goal = goal_create(**serializer.validated_data)
        except DjangoValidationError as error:
            raise ValidationError(error.message_dict) from error
        return Response(self.get_serializer(goal).data, status=status.HTTP_201_CREATED)


router = SimpleRouter()
router.register("goals", GoalViewSet, basename="api-goals")
urlpatterns = router.urls
