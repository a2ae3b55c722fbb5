from django.contrib import admin, messages

from apps.outcomes.models import (
    RECORDED_FIELDS,
    ActionType,
    CalibrationBin,
    OutcomeChange,
    OutcomeRecord,
)
from apps.outcomes.services import outcome_restore
from apps.tenancy.admin_display import HistoryInline, when_column


@admin.register(ActionType)
class ActionTypeAdmin(admin.ModelAdmin):
    """Org admins tune the windows and signals here; codes are what the agent sends."""

    list_display = ["code", "name", "window_hours", "signal", "is_active"]
    list_editable = ["window_hours", "is_active"]
    list_filter = ["signal", "is_active"]
    search_fields = ["code", "name"]


class OutcomeChangeInline(HistoryInline):
    """The record's history: corrections, deletes and restores, late signals (read-only)."""

    model = OutcomeChange
    fields = readonly_fields = ["created_at", "kind", "actor", "changes"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class DeletedFilter(admin.SimpleListFilter):
    title = "deleted"
    parameter_name = "deleted"

    def lookups(self, request, model_admin):
        return [("no", "Not deleted"), ("yes", "Deleted")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(deleted_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(deleted_at__isnull=True)
        return queryset


@admin.register(OutcomeRecord)
class OutcomeRecordAdmin(admin.ModelAdmin):
    """Read-mostly: outcomes are recorded by the agent and decided by the periodic jobs.

    Deleted records are listed too (filter "deleted"); "Restore" brings them back.
    """

    inlines = [OutcomeChangeInline]
    actions = ["restore"]

    list_display = [
        "external_id",
        "action_type",
        "account",
        "clone",
        "predicted_confidence",
        "status",
        "score",
        when_column("occurred_at"),
        when_column("window_ends_at"),
        when_column("deleted_at"),
    ]
    list_filter = [DeletedFilter, "status", "action_type", "clone"]
    search_fields = ["external_id", "account__name", "account__external_id"]
    list_select_related = ["action_type", "account", "clone"]
    date_hierarchy = "occurred_at"
    raw_id_fields = ["account", "deal", "clone", "resolving_interaction"]
    readonly_fields = [
        *RECORDED_FIELDS,
        "status",
        "score",
        "window_ends_at",
        "resolved_at",
        "resolving_interaction",
        "resolution_note",
        "created_at",
        "deleted_at",
    ]
    show_full_result_count = False  # no COUNT(*) over millions of rows on every page

    def get_queryset(self, request):
        return OutcomeRecord.all_objects.select_related("action_type", "account", "clone")

    def has_add_permission(self, request) -> bool:
        return False  # the agent records actions through the API

    @admin.action(description="Restore the selected deleted outcomes")
    def restore(self, request, queryset) -> None:
        actor = request.user.get_username()
        restored = 0
        for record in queryset.filter(deleted_at__isnull=False)[:1000]:
            outcome_restore(outcome=record, actor=actor)
            restored += 1
        self.message_user(request, f"{restored} outcome(s) restored.", messages.SUCCESS)


@admin.register(CalibrationBin)
class CalibrationBinAdmin(admin.ModelAdmin):
    list_display = [
        "action_type",
        "bin_index",
        "count",
        "mean_predicted",
        "mean_actual",
        when_column("updated_at"),
    ]
    list_filter = ["action_type"]
    list_select_related = ["action_type"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
