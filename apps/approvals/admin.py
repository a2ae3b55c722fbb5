from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from apps.approvals.models import (
    ActionEvent,
    ApprovalSettings,
    GuardrailRule,
    ProposedAction,
    WebhookDelivery,
)
from apps.approvals.services import (
    webhook_secret_ensure,
    webhook_secret_rotate,
    webhooks_retry,
)
from apps.tenancy.admin_display import HistoryInline, SettingsAdmin, money_column, when_column

SECRET_ATTRIBUTE = "_approvals_new_webhook_secret"


def _show_secret_once(request: HttpRequest, secret: str) -> HttpResponse:
    """The new secret, on this response's page only: never in a cookie, message or log."""
    response = render(request, "approvals/admin_secret.html", {"secret": secret})
    response["Cache-Control"] = "no-store"
    return response


@admin.register(ApprovalSettings)
class ApprovalSettingsAdmin(SettingsAdmin):
    """One row per organisation: approval timeout, the decision webhook, the chat webhook.

    The signing secret is generated (never typed, never shown again after the page that
    announces it); "Rotate secret" replaces it, the old one signing too for 24 hours.
    """

    list_display = [
        "__str__",
        "timeout_hours",
        "webhook_url",
        "chat_webhook_url",
        when_column("updated_at"),
    ]
    fields = ["timeout_hours", "webhook_url", "signing_secret", "chat_webhook_url"]
    readonly_fields = ["signing_secret"]

    @admin.display(description="Signing secret")
    def signing_secret(self, obj: ApprovalSettings) -> str:
        state = "Set" if obj.webhook_secret else "Not set (created when a webhook URL is saved)"
        if obj.pk:
            return format_html(
                '{} · <button type="submit" form="rotate-secret" class="button">Rotate secret'
                "</button>",
                state,
            )
        return state

    def save_model(self, request, obj, form, change):
        new_secret = webhook_secret_ensure(obj)
        super().save_model(request, obj, form, change)
        if new_secret:
            setattr(request, SECRET_ATTRIBUTE, new_secret)

    def response_add(self, request, obj, post_url_continue=None):
        secret = getattr(request, SECRET_ATTRIBUTE, "")
        return _show_secret_once(request, secret) if secret else super().response_add(request, obj)

    def response_change(self, request, obj):
        secret = getattr(request, SECRET_ATTRIBUTE, "")
        return (
            _show_secret_once(request, secret) if secret else super().response_change(request, obj)
        )

    def get_urls(self):
        return [
            path(
                "rotate-secret/",
                self.admin_site.admin_view(require_POST(self.rotate_secret_view)),
                name="approvals_approvalsettings_rotate_secret",
            ),
            *super().get_urls(),
        ]

    def rotate_secret_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_change_permission(request):
            raise PermissionDenied
        return _show_secret_once(request, webhook_secret_rotate())

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}), "show_rotate_form": True}
        return super().change_view(request, object_id, form_url, extra_context)


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


class ReadOnlyInline(HistoryInline):
    """Audit rows under their action: shown, never added, changed or deleted by hand."""

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class ActionEventInline(ReadOnlyInline):
    model = ActionEvent
    fields = ["created_at", "kind", "actor_label", "via", "reason", "rules", "ip_address"]


class WebhookDeliveryInline(ReadOnlyInline):
    model = WebhookDelivery
    fields = ["created_at", "event", "status", "attempts", "last_status_code", "last_error"]


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
    list_display = [
        when_column("created_at"),
        "action",
        "kind",
        "actor_label",
        "via",
        "ip_address",
        "reason",
    ]
    list_filter = ["kind", "via"]
    search_fields = ["action__external_id", "actor_label", "reason"]
    list_select_related = ["action"]
    date_hierarchy = "created_at"


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = [
        when_column("created_at"),
        "action",
        "event",
        "url",
        "status",
        "attempts",
        "last_status_code",
        "last_error",
        when_column("delivered_at"),
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
