from django.contrib import admin

from apps.crm.models import Account, Deal, DealStageChange, Interaction
from apps.tenancy.admin_display import HistoryInline, money_column, when_column


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "external_id",
        "industry",
        "owner",
        when_column("created_at", "created"),
    ]
    list_filter = ["industry"]
    search_fields = ["name", "external_id"]
    list_select_related = ["owner"]


class DealStageChangeInline(HistoryInline):
    model = DealStageChange
    readonly_fields = ["from_stage", "to_stage", "changed_at"]


@admin.register(Deal)
class DealAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "external_id",
        "account",
        "stage",
        money_column("amount"),
        when_column("stage_changed_at", "stage changed"),
    ]
    list_filter = ["stage"]
    search_fields = ["name", "external_id", "account__name"]
    list_select_related = ["account"]
    inlines = [DealStageChangeInline]


@admin.register(Interaction)
class InteractionAdmin(admin.ModelAdmin):
    list_display = [
        when_column("occurred_at", "when"),
        "account",
        "channel",
        "direction",
        "sentiment",
        "summary",
    ]
    list_filter = ["channel", "direction"]
    search_fields = ["account__name", "summary"]
    list_select_related = ["account"]
    date_hierarchy = "occurred_at"
