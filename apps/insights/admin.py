from django.contrib import admin, messages

from apps.insights import models
from apps.insights.services import insights_bulk_dismiss
from apps.tenancy.admin_display import HistoryInline, SettingsAdmin, when_column


@admin.register(models.InsightSettings)
class InsightSettingsAdmin(SettingsAdmin):
    """The detectors' thresholds."""

    list_display = [
        "__str__",
        "buying_window_days",
        "negative_streak_length",
        "stall_factor",
        "engagement_change_pct",
        "cross_account_min_accounts",
        when_column("updated_at"),
    ]
    fieldsets = [
        (
            "Buying signals",
            {"fields": ["buying_window_days", "buying_min_signals", "buying_min_stakeholders"]},
        ),
        (
            "Risk indicators",
            {
                "fields": [
                    "negative_streak_length",
                    "negative_sentiment_below",
                    "stall_factor",
                    "stall_min_days",
                    "stall_default_median_days",
                    "champion_min_interactions",
                    "champion_silent_days",
                ]
            },
        ),
        (
            "Deal warnings",
            {
                "fields": [
                    "deal_inactive_days",
                    "close_date_grace_days",
                    "single_thread_window_days",
                ]
            },
        ),
        ("Engagement change", {"fields": ["engagement_change_pct", "engagement_min_interactions"]}),
        (
            "Cross-account patterns",
            {"fields": ["cross_account_min_accounts", "cross_account_window_days"]},
        ),
        ("Noise control", {"fields": ["redetect_after_days"]}),
    ]


class AlertFeedbackInline(HistoryInline):
    model = models.AlertFeedback
    readonly_fields = ["user", "useful", "comment", "updated_at"]


@admin.register(models.Insight)
class InsightAdmin(admin.ModelAdmin):
    list_display = [
        "title",
        "account",
        "industry",
        "pattern_type",
        "severity",
        "confidence",
        "status",
        when_column("detected_at"),
        "resolved_by",
    ]
    list_filter = ["status", "pattern_type", "severity", "signal"]
    search_fields = ["title", "account__name", "industry"]
    list_select_related = ["account", "resolved_by"]
    date_hierarchy = "detected_at"
    readonly_fields = ["status", "resolved_at", "resolved_by", "dismiss_reason", "detected_at"]
    inlines = [AlertFeedbackInline]
    actions = ["dismiss_not_relevant"]

    @admin.action(description="Dismiss selected (not relevant)")
    def dismiss_not_relevant(self, request, queryset):
        count = insights_bulk_dismiss(
            insights=queryset, user=request.user, reason=models.DismissReason.NOT_RELEVANT
        )
        self.message_user(request, f"Dismissed {count} insights.", messages.SUCCESS)


@admin.register(models.AlertFeedback)
class AlertFeedbackAdmin(admin.ModelAdmin):
    list_display = ["insight", "user", "useful", "comment", when_column("updated_at")]
    list_filter = ["useful", "insight__pattern_type"]
    list_select_related = ["insight", "user"]
    search_fields = ["comment", "insight__title"]


@admin.register(models.DigestDelivery)
class DigestDeliveryAdmin(admin.ModelAdmin):
    list_display = ["day", "user", "insight_count", when_column("sent_at")]
    list_select_related = ["user"]
    list_filter = ["day"]


@admin.register(models.AlertPreference)
class AlertPreferenceAdmin(admin.ModelAdmin):
    """People's choices per severity (they edit them at /insights/preferences/)."""

    list_display = ["user", "severity", "channel", when_column("updated_at")]
    list_filter = ["severity", "channel"]
    search_fields = ["user__username"]
    list_select_related = ["user"]


@admin.register(models.AlertDelivery)
class AlertDeliveryAdmin(admin.ModelAdmin):
    """What was sent at once, to whom (empty: the organisation's chat). Read-only record."""

    list_display = ["insight", "user", "channel", when_column("sent_at")]
    list_filter = ["channel"]
    search_fields = ["insight__title", "user__username"]
    list_select_related = ["insight", "user"]
    date_hierarchy = "sent_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
