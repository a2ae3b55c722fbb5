"""Goals are edited here by org admins: progress at a glance, filters, bulk close / extend."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.utils.html import format_html

from apps.goals.models import Goal, GoalStatus, PerformanceSnapshot
from apps.goals.services import goal_save, goals_close, goals_extend, goals_progress_refresh

_STATUS_COLOURS = {
    GoalStatus.ACTIVE: ("#a86400", "#fdf1dc"),
    GoalStatus.COMPLETED: ("#1a7f4b", "#e3f4ea"),
    GoalStatus.MISSED: ("#c0352b", "#fbe6e4"),
}


def _amount(goal: Goal, value) -> str:
    """Short figures for the list: 64%, 23, 9,500, 172.5k, 1.25M."""
    if goal.is_percentage:
        return f"{value:.0f}%"
    if value >= 1_000_000:
        return f"{float(value) / 1_000_000:.3g}M"
    if value >= 10_000:
        return f"{float(value) / 1_000:.4g}k"
    return f"{value:,.0f}"


@admin.register(Goal)
class GoalAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "type_label",
        "scope",
        "progress_bar",
        "status_badge",
        "period",
    ]
    list_filter = ["goal_type", "status", "clone", "owner"]
    search_fields = ["name", "clone__name", "clone__external_id", "owner__username"]
    list_select_related = ["clone", "owner"]
    date_hierarchy = "period_end"
    autocomplete_fields = ["owner"]
    readonly_fields = ["current_value", "status", "completed_at", "progress_updated_at"]
    fieldsets = [
        (None, {"fields": ["name", "goal_type", "target", ("period_start", "period_end")]}),
        (
            "Whose goal",
            {
                "fields": ["clone", "owner"],
                "description": "Leave both empty for a team goal. Quality targets are percentages.",
            },
        ),
        ("Progress (computed)", {"fields": readonly_fields}),
    ]

    def get_fieldsets(self, request, obj=None):
        # A new goal has no progress yet; it is computed when the goal is saved.
        return self.fieldsets if obj is not None else self.fieldsets[:2]

    actions = ["refresh_progress", "close_goals", "extend_7_days", "extend_30_days"]

    @admin.display(description="Type", ordering="goal_type")
    def type_label(self, goal: Goal) -> str:
        return goal.goal_type.capitalize()

    @admin.display(description="For")
    def scope(self, goal: Goal) -> str:
        if goal.clone:
            return f"Clone: {goal.clone.name}"
        if goal.owner:
            return goal.owner.get_full_name() or goal.owner.username
        return "Team"

    @admin.display(description="Progress", ordering="current_value")
    def progress_bar(self, goal: Goal) -> str:
        colour = "#1a7f4b" if goal.progress_pct >= 100 else "#2f5bea"
        return format_html(
            '<div style="display:flex;align-items:center;gap:.5rem">'
            '<div style="flex:none;width:90px;height:8px;background:#f0f3f7;border-radius:999px;overflow:hidden"'
            ' role="progressbar" aria-valuenow="{}" aria-valuemin="0" aria-valuemax="100">'
            '<span style="display:block;height:100%;width:{}%;background:{}"></span></div>'
            '<span style="white-space:nowrap">{} / {} ({}%)</span></div>',
            goal.progress_pct,
            goal.progress_pct,
            colour,
            _amount(goal, goal.current_value),
            _amount(goal, goal.target),
            goal.progress_pct,
        )

    @admin.display(description="Period", ordering="period_end")
    def period(self, goal: Goal) -> str:
        return f"{goal.period_start:%-d %b} – {goal.period_end:%-d %b %Y}"

    @admin.display(description="Status", ordering="status")
    def status_badge(self, goal: Goal) -> str:
        ink, background = _STATUS_COLOURS[goal.status]
        return format_html(
            '<span style="white-space:nowrap;padding:.1rem .5rem;border-radius:999px;font-weight:600;'
            'color:{};background:{}">{}</span>',
            ink,
            background,
            goal.get_status_display(),
        )

    def save_model(self, request, obj: Goal, form, change) -> None:
        goal_save(goal=obj)

    @admin.action(description="Recompute progress of selected goals")
    def refresh_progress(self, request, queryset: QuerySet[Goal]) -> None:
        result = goals_progress_refresh(goals=queryset)
        self._closed_report(request, f"{result['updated']} active goals recomputed", result)

    @admin.action(description="Close selected goals now (completed if at target, else missed)")
    def close_goals(self, request, queryset: QuerySet[Goal]) -> None:
        result = goals_close(goals=queryset)
        self._closed_report(
            request, f"Closed {result['completed'] + result['missed']} goals", result
        )

    def _closed_report(self, request, done: str, result: dict) -> None:
        """``done``, then how many goals that closed were completed and how many missed."""
        self.message_user(
            request,
            f"{done}: {result['completed']} completed, {result['missed']} missed.",
            messages.SUCCESS,
        )

    def _extend(self, request, queryset: QuerySet[Goal], days: int) -> None:
        selected = queryset.count()
        extended = goals_extend(goals=queryset, days=days)
        skipped = selected - extended
        text = f"Extended {extended} goals by {days} days."
        if skipped:
            text += f" {skipped} completed goals were left as they are."
        self.message_user(request, text, messages.SUCCESS)

    @admin.action(description="Extend period of selected goals by 7 days")
    def extend_7_days(self, request, queryset: QuerySet[Goal]) -> None:
        self._extend(request, queryset, 7)

    @admin.action(description="Extend period of selected goals by 30 days")
    def extend_30_days(self, request, queryset: QuerySet[Goal]) -> None:
        self._extend(request, queryset, 30)


@admin.register(PerformanceSnapshot)
class PerformanceSnapshotAdmin(admin.ModelAdmin):
    list_display = [
        "day",
        "clone",
        "pipeline_value",
        "activity_count",
        "quality_rate",
        "revenue_value",
    ]
    list_filter = ["clone"]
    date_hierarchy = "day"
    list_select_related = ["clone"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
