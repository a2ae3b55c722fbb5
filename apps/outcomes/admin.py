from django.contrib import admin

from apps.outcomes.models import ActionType, CalibrationBin, OutcomeRecord


@admin.register(ActionType)
class ActionTypeAdmin(admin.ModelAdmin):
    """Org admins tune the windows and signals here; codes are what the agent sends."""

    list_display = ["code", "name", "window_hours", "signal", "is_active"]
    list_editable = ["window_hours", "is_active"]
    list_filter = ["signal", "is_active"]
    search_fields = ["code", "name"]


@admin.register(OutcomeRecord)
class OutcomeRecordAdmin(admin.ModelAdmin):
    """Read-mostly: outcomes are recorded by the agent and decided by the periodic jobs."""

    list_display = [
        "external_id",
        "action_type",
        "account",
        "clone",
        "predicted_confidence",
        "status",
        "score",
        "occurred_at",
        "window_ends_at",
    ]
    list_filter = ["status", "action_type", "clone"]
    search_fields = ["external_id", "account__name", "account__external_id"]
    list_select_related = ["action_type", "account", "clone"]
    date_hierarchy = "occurred_at"
    raw_id_fields = ["account", "deal", "clone", "resolving_interaction"]
    readonly_fields = [
        "external_id",
        "action_type",
        "account",
        "deal",
        "clone",
        "predicted_confidence",
        "occurred_at",
        "output_text",
        "metadata",
        "status",
        "score",
        "window_ends_at",
        "resolved_at",
        "resolving_interaction",
        "resolution_note",
        "created_at",
    ]
    show_full_result_count = False  # no COUNT(*) over millions of rows on every page

    def has_add_permission(self, request) -> bool:
        return False  # the agent records actions through the API


@admin.register(CalibrationBin)
class CalibrationBinAdmin(admin.ModelAdmin):
    list_display = [
        "action_type",
        "bin_index",
        "count",
        "mean_predicted",
        "mean_actual",
        "updated_at",
    ]
    list_filter = ["action_type"]
    list_select_related = ["action_type"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
