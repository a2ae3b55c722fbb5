"""CRM mirror API: accounts and deals upserted by CRM id, interactions as signals."""

from __future__ import annotations

from collections.abc import Callable

from django.db.models import Model, QuerySet
from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from apps.crm.models import Account, Channel, Deal, DealStage, Direction, Interaction
from apps.crm.selectors import accounts_visible_to, deals_visible_to
from apps.crm.services import account_upsert, deal_upsert, interaction_record
from apps.crm.times import time_range_error
from apps.users.api import UserRef
from apps.users.models import User
from apps.users.permissions import CapabilityPerAction
from apps.web.api_fields import ModelRef


class ClientTimeField(serializers.DateTimeField):
    """A time a client sends, held to the sane range (apps.crm.times) before anything
    converts it: a year-1 time in a zone east of UTC cannot even be converted."""

    def enforce_timezone(self, value):
        if timezone.is_aware(value) and (error := time_range_error(value)):
            raise serializers.ValidationError(error)
        value = super().enforce_timezone(value)
        if error := time_range_error(value):
            raise serializers.ValidationError(error)
        return value


class AccountRef(ModelRef):
    """An account referenced by its CRM external id (``"account": "acc-17"``)."""

    model = Account


class DealRef(ModelRef):
    """A deal referenced by its CRM external id."""

    model = Deal


class AccountSerializer(serializers.ModelSerializer):
    external_id = serializers.CharField(max_length=100, validators=[])
    owner = UserRef(required=False, allow_null=True)

    class Meta:
        model = Account
        fields = ["id", "external_id", "name", "industry", "owner", "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]


class DealSerializer(serializers.ModelSerializer):
    external_id = serializers.CharField(max_length=100, validators=[])
    account = AccountRef()
    stage = serializers.ChoiceField(choices=DealStage.choices, default=DealStage.PROSPECTING)
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0, default=0)
    close_date = serializers.DateField(required=False, allow_null=True)

    class Meta:
        model = Deal
        fields = [
            "id",
            "external_id",
            "account",
            "name",
            "stage",
            "amount",
            "close_date",
            "stage_changed_at",
            "closed_at",
            "created_at",
        ]
        read_only_fields = ["id", "stage_changed_at", "closed_at", "created_at"]


class InteractionSerializer(serializers.ModelSerializer):
    account = AccountRef()
    deal = DealRef(required=False, allow_null=True)
    channel = serializers.ChoiceField(choices=Channel.choices)
    direction = serializers.ChoiceField(choices=Direction.choices)
    sentiment = serializers.FloatField(min_value=-1, max_value=1, required=False, allow_null=True)
    key_points = serializers.ListField(
        child=serializers.CharField(max_length=500), required=False, max_length=50
    )
    stage = serializers.ChoiceField(choices=DealStage.choices, required=False, allow_blank=True)
    external_id = serializers.CharField(
        max_length=100, required=False, allow_null=True, validators=[]
    )
    occurred_at = ClientTimeField()
    contact = serializers.CharField(max_length=200, required=False, allow_blank=True)
    in_reply_to = serializers.CharField(
        max_length=200,
        required=False,
        allow_blank=True,
        help_text="external_id of the outcome this inbound message answers",
    )
    thread_id = serializers.CharField(max_length=200, required=False, allow_blank=True)

    class Meta:
        model = Interaction
        fields = [
            "id",
            "external_id",
            "account",
            "deal",
            "channel",
            "direction",
            "occurred_at",
            "sentiment",
            "summary",
            "key_points",
            "contact_name",
            "contact_title",
            "contact",
            "in_reply_to",
            "thread_id",
            "stage",
            "created_at",
        ]
        read_only_fields = ["id", "created_at"]


class CrmViewSet(
    CapabilityPerAction,
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """What the CRM sync reads and writes: listed and read with ``crm.read``, created with
    ``crm.write``. A POST creates (201) or updates (200) the object with the same external
    id, through the service ``upsert_with``; what is listed is ``visible_to`` the user."""

    capabilities = {"list": "crm.read", "retrieve": "crm.read", "*": "crm.write"}
    upsert_with: Callable[..., tuple[Model, bool]]
    visible_to: Callable[[User], QuerySet]

    def get_queryset(self):
        return self.visible_to(self.request.user)

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        instance, created = self.upsert_with(**serializer.validated_data)
        return Response(
            self.get_serializer(instance).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class AccountViewSet(CrmViewSet):
    serializer_class = AccountSerializer
    filterset_fields = ["industry"]
    upsert_with = staticmethod(account_upsert)
    visible_to = staticmethod(accounts_visible_to)


class DealViewSet(CrmViewSet):
    serializer_class = DealSerializer
    filterset_fields = ["stage"]
    upsert_with = staticmethod(deal_upsert)
    visible_to = staticmethod(deals_visible_to)


@extend_schema_view(
    create=extend_schema(responses={201: InteractionSerializer, 200: InteractionSerializer})
)
class InteractionViewSet(CrmViewSet):
    serializer_class = InteractionSerializer
    filterset_fields = ["channel", "direction"]
    upsert_with = staticmethod(interaction_record)

    def get_queryset(self):
        visible = accounts_visible_to(self.request.user)
        return Interaction.objects.filter(account__in=visible).select_related("account", "deal")


router = SimpleRouter()
router.register("accounts", AccountViewSet, basename="api-accounts")
router.register("deals", DealViewSet, basename="api-deals")
router.register("interactions", InteractionViewSet, basename="api-interactions")
urlpatterns = router.urls
