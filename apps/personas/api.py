"""Persona API: the agent lists clones and reads (managers also change) a clone's persona.

Clones are addressed by their external id string, as everywhere in the API:
``GET /api/v1/clones/demo-clone-1/persona/``.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Max, Value
from django.db.models.functions import Coalesce
from django.http import Http404
from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter
from rest_framework.views import APIView

from apps.agents.models import SLIDERS, Clone, RegionProfile
from apps.personas.rendering import PersonaSettings, instruction_text
from apps.personas.selectors import clone_current_version, clones_visible_to
from apps.personas.services import CUSTOM_INSTRUCTIONS_MAX, persona_update
from apps.reviews.selectors import examples
from apps.users.permissions import HasCapability


def _slider_field(**kwargs) -> serializers.IntegerField:
    return serializers.IntegerField(min_value=0, max_value=100, **kwargs)


class CloneSerializer(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.username", read_only=True)
    region = serializers.CharField(source="region.code", read_only=True, default=None)
    version = serializers.IntegerField(read_only=True)

    class Meta:
        model = Clone
        fields = ["external_id", "name", "owner", "is_active", *SLIDERS, "region", "version"]
        read_only_fields = fields


class PersonaSettingsSerializer(serializers.Serializer):
    """The settings part of a persona; on PATCH every field is optional."""

    formal_casual = _slider_field(required=False)
    concise_detailed = _slider_field(required=False)
    technical_business = _slider_field(required=False)
    proactive_reactive = _slider_field(required=False)
    region = serializers.SlugRelatedField(
        slug_field="code", queryset=RegionProfile.objects.all(), required=False, allow_null=True
    )
    custom_instructions = serializers.CharField(
        required=False, allow_blank=True, max_length=CUSTOM_INSTRUCTIONS_MAX, trim_whitespace=False
    )

    def validate(self, attrs):
        unknown = set(self.initial_data) - set(self.fields)
        if unknown:
            raise ValidationError({name: ["Unknown field."] for name in sorted(unknown)})
        if not attrs:
            raise ValidationError({"non_field_errors": ["Nothing to change."]})
        return attrs


class PersonaSerializer(serializers.Serializer):
    clone = serializers.CharField()
    name = serializers.CharField()
    owner = serializers.CharField()
    is_active = serializers.BooleanField()
    version = serializers.IntegerField()
    settings = serializers.DictField()
    instructions = serializers.CharField()
    updated_at = serializers.DateTimeField()
    examples = serializers.ListField(child=serializers.DictField())


PERSONA_EXAMPLES = 5  # few-shot examples: the clone's corrections and best-scored outputs


def persona_data(clone: Clone) -> dict:
    owner = clone.owner.get_full_name() or clone.owner.username
    return {
        "clone": clone.external_id,
        "name": clone.name,
        "owner": clone.owner.username,
        "is_active": clone.is_active,
        "version": clone_current_version(clone),
        "settings": {
            **{slider: getattr(clone, slider) for slider in SLIDERS},
            "region": clone.region.code if clone.region else None,
            "custom_instructions": clone.custom_instructions,
        },
        "instructions": instruction_text(
            PersonaSettings.of(clone), clone_name=clone.name, owner_name=owner
        ),
        "updated_at": clone.updated_at,
        "examples": examples(clone=clone.external_id, limit=PERSONA_EXAMPLES),
    }


class CloneViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Clones the caller may see (a rep's key: their own), with their current version."""

    serializer_class = CloneSerializer
    permission_classes = [HasCapability("personas.read")]
    filterset_fields = ["is_active"]

    def get_queryset(self):
        return clones_visible_to(self.request.user).annotate(
            version=Coalesce(Max("versions__number"), Value(1))
        )


class PersonaView(APIView):
    """A clone's persona: settings, version and the rendered instruction text.

    ``{external_id}`` is the clone's external id. PATCH (manager or admin keys) changes
    any of the settings and saves a new version.
    """

    def get_permissions(self) -> list[BasePermission]:
        capability = "personas.edit" if self.request.method == "PATCH" else "personas.read"
        return [HasCapability(capability)()]

    def _clone(self, external_id: str) -> Clone:
        clone = clones_visible_to(self.request.user).filter(external_id=external_id).first()
        if clone is None:
            raise Http404
        return clone

    @extend_schema(responses=PersonaSerializer)
    def get(self, request, external_id: str):
        return Response(persona_data(self._clone(external_id)))

    @extend_schema(request=PersonaSettingsSerializer, responses=PersonaSerializer)
    def patch(self, request, external_id: str):
        clone = self._clone(external_id)
        serializer = PersonaSettingsSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        changes = {"sliders": {slider: data.pop(slider) for slider in SLIDERS if slider in data}}
        if "region" in data:
            changes["region"] = data.pop("region")
        if "custom_instructions" in data:
            changes["custom_instructions"] = data.pop("custom_instructions")
        user = request.user if not getattr(request.user, "is_agent", False) else None
        try:
            persona_update(clone=clone, user=user, note="Changed through the API", **changes)
        except DjangoValidationError as error:
            raise ValidationError(error.message_dict) from error
        clone.refresh_from_db()
        return Response(persona_data(clone))


router = SimpleRouter()
router.register("clones", CloneViewSet, basename="api-clones")
urlpatterns = [
    *router.urls,
    path("clones/<str:external_id>/persona/", PersonaView.as_view(), name="api-clone-persona"),
]
