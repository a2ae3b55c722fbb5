from django.contrib import admin

from apps.agents.models import SLIDERS, Clone, RegionProfile
from apps.personas.models import PersonaVersion
from apps.personas.services import persona_update


@admin.register(RegionProfile)
class RegionProfileAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "code",
        "greeting_style",
        "formality_baseline",
        "date_format",
        "sign_off",
    ]
    search_fields = ["name", "code"]


class PersonaVersionInline(admin.TabularInline):
    """Versions are history: read them here, change the persona on the persona page."""

    model = PersonaVersion
    extra = 0
    can_delete = False
    fields = [
        "number",
        "formal_casual",
        "concise_detailed",
        "technical_business",
        "proactive_reactive",
        "region",
        "note",
        "created_by",
        "created_at",
    ]
    readonly_fields = fields
    ordering = ["-number"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Clone)
class CloneAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "external_id",
        "owner",
        "is_active",
        "region",
        "formal_casual",
        "concise_detailed",
        "technical_business",
        "proactive_reactive",
    ]
    list_filter = ["is_active", "region"]
    search_fields = ["name", "external_id", "owner__username", "owner__last_name"]
    list_select_related = ["owner", "region"]
    autocomplete_fields = ["owner"]
    inlines = [PersonaVersionInline]

    def save_model(self, request, obj, form, change) -> None:
        """Persona changes made here are versioned like those made on the persona page."""
        persona_fields = [*SLIDERS, "region", "custom_instructions"]
        if not change or not set(persona_fields) & set(form.changed_data):
            super().save_model(request, obj, form, change)
            return
        wanted = {field: getattr(obj, field) for field in persona_fields}
        stored = Clone.objects.get(pk=obj.pk)
        for field in persona_fields:
            setattr(obj, field, getattr(stored, field))
        super().save_model(request, obj, form, change)
        persona_update(
            clone=obj,
            user=request.user,
            sliders={slider: wanted[slider] for slider in SLIDERS},
            region=wanted["region"],
            custom_instructions=wanted["custom_instructions"],
            note="Changed in the admin",
        )
        obj.refresh_from_db()
