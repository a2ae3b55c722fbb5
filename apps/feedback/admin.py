from django.contrib import admin

from apps.feedback.models import FeedbackAspect, FeedbackEntry, Learning, LearningApplication
from apps.feedback.services import (
    learnings_refresh_lift,
    learnings_refresh_scores,
    learnings_set_active,
)
from apps.tenancy.admin_display import HistoryInline, when_column


@admin.register(FeedbackAspect)
class FeedbackAspectAdmin(admin.ModelAdmin):
    """The organisation's list of aspects raters pick from (what was good, what was poor)."""

    list_display = ["label", "code", "polarity", "is_active", "position"]
    list_editable = ["is_active", "position"]
    list_filter = ["polarity", "is_active"]
    search_fields = ["label", "code"]
    prepopulated_fields = {"code": ["label"]}


@admin.register(FeedbackEntry)
class FeedbackEntryAdmin(admin.ModelAdmin):
    list_display = [
        when_column("updated_at"),
        "user",
        "outcome",
        "kind",
        "rating",
        "feedback_source",
        "comment",
    ]
    list_filter = ["kind", "rating", "feedback_source", "error_category", "outcome__action_type"]
    filter_horizontal = ["aspects"]
    search_fields = ["user__username", "outcome__external_id", "comment"]
    list_select_related = ["user", "outcome"]
    raw_id_fields = ["outcome", "user"]
    date_hierarchy = "updated_at"


class LearningApplicationInline(HistoryInline):
    model = LearningApplication
    readonly_fields = ["outcome", "outcome_record", "context", "applied_by", "applied_at"]
    fields = readonly_fields
    show_change_link = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False  # uses are recorded by the agent through the API, with their counters


@admin.register(Learning)
class LearningAdmin(admin.ModelAdmin):
    list_display = [
        "title",
        "category",
        "action_type",
        "is_active",
        "application_count",
        "success_rate",
        "confidence_score",
        "decay_factor",
        "relevance_score",
        "lift",
        "is_hurting",
    ]
    list_filter = ["is_active", "is_hurting", "category", "action_type"]
    search_fields = ["title", "guidance", "signature"]
    list_select_related = ["action_type"]
    readonly_fields = [
        "application_count",
        "success_points",
        "success_rate",
        "confidence_score",
        "decay_factor",
        "evidence_positive",
        "evidence_total",
        "last_success_at",
        "last_applied_at",
        "extracted_at",
        "lift",
        "lift_low",
        "lift_high",
        "lift_sample",
        "lift_control_sample",
        "lift_computed_at",
        "is_hurting",
        "kept_at",
        "kept_by",
        "created_by",
    ]
    exclude = ["source_outcomes"]
    inlines = [LearningApplicationInline]
    actions = ["activate", "deactivate", "refresh_scores", "refresh_lift"]

    @admin.action(description="Activate selected learnings")
    def activate(self, request, queryset):
        ids = list(queryset.values_list("pk", flat=True))
        self.message_user(request, f"{learnings_set_active(ids=ids, is_active=True)} activated.")

    @admin.action(description="Deactivate selected learnings")
    def deactivate(self, request, queryset):
        ids = list(queryset.values_list("pk", flat=True))
        count = learnings_set_active(ids=ids, is_active=False)
        self.message_user(request, f"{count} deactivated.")

    @admin.action(description="Recompute confidence, success rate and decay")
    def refresh_scores(self, request, queryset):
        count = learnings_refresh_scores(ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"{count} refreshed.")

    @admin.action(description="Recompute every learning's lift")
    def refresh_lift(self, request, queryset):
        count = learnings_refresh_lift()
        self.message_user(request, f"Lift recomputed for {count} learnings.")
