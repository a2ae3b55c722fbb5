from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from apps.reviews.models import Correction, ReviewQueue, Rubric, Score, Settlement
from apps.reviews.services import queues_fill, rubric_validate
from apps.tenancy.admin_display import when_column


class RubricAdminForm(forms.ModelForm):
    class Meta:
        model = Rubric
        fields = [
            "name",
            "kind",
            "description",
            "min_value",
            "max_value",
            "step",
            "labels",
            "is_active",
        ]

    def clean(self):
        data = super().clean()
        if self.instance.builtin and any(
            data.get(field) != getattr(self.instance, field)
            for field in ("kind", "min_value", "max_value", "step")
        ):
            raise ValidationError("The scale of a built-in rubric cannot change.")
        if "kind" in data:
            try:
                data.update(
                    rubric_validate(
                        kind=data["kind"],
                        min_value=data.get("min_value"),
                        max_value=data.get("max_value"),
                        step=data.get("step"),
                        labels=data.get("labels") or [],
                    )
                )
            except ValidationError as error:
                for field, messages in error.message_dict.items():
                    self.add_error(field if field in self.fields else None, messages)
        return data


@admin.register(Rubric)
class RubricAdmin(admin.ModelAdmin):
    form = RubricAdminForm
    list_display = ["name", "kind", "builtin", "is_active", when_column("created_at")]
    list_filter = ["kind", "is_active"]
    search_fields = ["name", "description"]

    def has_delete_permission(self, request, obj=None):
        return obj is None or not obj.builtin


@admin.register(ReviewQueue)
class ReviewQueueAdmin(admin.ModelAdmin):
    list_display = ["name", "sample_rate_bp", "reviews_needed", "outcome_status", "is_active"]
    list_filter = ["is_active", "reviews_needed"]
    search_fields = ["name"]
    filter_horizontal = ["rubrics", "action_types", "clones", "reviewers"]
    actions = ["fill"]

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        # The rule may have changed: look at every outcome again.
        ReviewQueue.objects.filter(pk=form.instance.pk).update(filled_at=None)
        queues_fill(queue_id=form.instance.pk)

    @admin.action(description="Admit matching outcomes now")
    def fill(self, request, queryset):
        admitted = sum(queues_fill(queue_id=queue.pk) for queue in queryset)
        self.message_user(request, f"{admitted} outputs admitted.")


@admin.register(Score)
class ScoreAdmin(admin.ModelAdmin):
    list_display = [
        "outcome",
        "rubric",
        "value",
        "source",
        "user",
        "evaluator",
        when_column("updated_at"),
    ]
    list_filter = ["source", "rubric"]
    raw_id_fields = ["outcome", "user"]


@admin.register(Correction)
class CorrectionAdmin(admin.ModelAdmin):
    list_display = ["outcome", "action_ref", "action_type", "author", when_column("updated_at")]
    raw_id_fields = ["outcome", "author", "clone"]
    readonly_fields = ["original_text", "diff", "action_ref"]


@admin.register(Settlement)
class SettlementAdmin(admin.ModelAdmin):
    list_display = ["item", "rubric", "value", "settled_by", when_column("settled_at")]
    raw_id_fields = ["item"]
