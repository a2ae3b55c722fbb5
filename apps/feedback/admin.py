from django.contrib import admin

from apps.feedback.models import FeedbackEntry, Learning, LearningApplication
from apps.feedback.services import learnings_refresh_scores, learnings_set_active


@admin.register(FeedbackEntry)
class FeedbackEntryAdmin(admin.ModelAdmin):
    list_display = ["updated_at", "user", "outcome", "kind", "rating", "comment"]
    list_filter = ["kind", "rating", "outcome__action_type"]
    search_fields = ["user__username", "outcome__external_id", "comment"]
    list_select_related = ["user", "outcome"]
    raw_id_fields = ["outcome", "user"]
    date_hierarchy = "updated_at"


class LearningApplicationInline(admin.TabularInline):
    model = LearningApplication
    extra = 0
    readonly_fields = ["outcome", "outcome_record", "context", "applied_by", "applied_at"]
    fields = readonly_fields
    can_delete = False
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
    ]
    list_filter = ["is_active", "category", "action_type"]
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
    ]
    exclude = ["source_outcomes"]
    inlines = [LearningApplicationInline]
    actions = ["activate", "deactivate", "refresh_scores"]

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
