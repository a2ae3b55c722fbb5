from django.contrib import admin

from apps.approvals.models import (
    ActionEvent,
    ApprovalSettings,
    GuardrailRule,
    ProposedAction,
    WebhookDelivery,
)
from apps.approvals.services import webhooks_retry
from apps.tenancy.admin_display import money_column, when_column


@admin.register(ApprovalSettings)
class ApprovalSettingsAdmin(admin.ModelAdmin):
    """One row per organisation: approval timeout and the decision webhook."""

    list_display = ["__str__", "timeout_hours", "webhook_url", "updated_at"]
    fields = ["timeout_hours", "webhook_url", "webhook_secret"]

    def has_add_permission(self, request):
        return not ApprovalSettings.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(GuardrailRule)
class GuardrailRuleAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "action_type", "threshold", "category", "is_active"]
    list_editable = ["threshold", "category", "is_active"]
    list_filter = ["category", "kind", "is_active"]
    search_fields = ["name", "action_type"]


class ReadOnlyAdmin(admin.ModelAdmin):
    """Audit data: visible, never added, changed or deleted by hand."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ActionEventInline(admin.TabularInline):
    model = ActionEvent
    extra = 0
    fields = ["created_at", "kind", "actor_label", "via", "reason", "rules", "ip_address"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class WebhookDeliveryInline(admin.TabularInline):
    model = WebhookDelivery
    extra = 0
    fields = ["created_at", "event", "status", "attempts", "last_status_code", "last_error"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ProposedAction)
class ProposedActionAdmin(ReadOnlyAdmin):
    list_display = [
        "external_id",
        "action_type",
        "account",
        "category",
        "status",
        "risk",
        money_column("amount"),
        when_column("proposed_at", "proposed"),
        "decided_by",
        when_column("decided_at", "decided"),
    ]
    list_filter = ["status", "category", "action_type"]
    search_fields = ["external_id", "account__name", "rationale"]
    list_select_related = ["account", "decided_by"]
    date_hierarchy = "proposed_at"
    inlines = [ActionEventInline, WebhookDeliveryInline]


@admin.register(ActionEvent)
class ActionEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "action", "kind", "actor_label", "via", "ip_address", "reason"]
    list_filter = ["kind", "via"]
    search_fields = ["action__external_id", "actor_label", "reason"]
    list_select_related = ["action"]
    date_hierarchy = "created_at"


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "action",
        "event",
        "url",
        "status",
        "attempts",
        "last_status_code",
        "last_error",
        "delivered_at",
    ]
    list_filter = ["status", "event"]
    search_fields = ["action__external_id", "url"]
    list_select_related = ["action"]
    readonly_fields = ["attempt_log"]
    actions = ["retry"]

    @admin.action(description="Send the selected failed deliveries again")
    def retry(self, request, queryset):
        count = webhooks_retry(delivery_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(
            request, f"Queued {count} failed deliver{'y' if count == 1 else 'ies'} again."
        )
