"""Admin list columns that show our values the way every page does (``when``, ``money``):
``list_display = ["name", money_column("amount"), when_column("proposed_at")]``; the base
of the inlines that list a parent's recorded history; and the base of the admins of an
organisation's one row of settings."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import admin

from apps.tenancy.dates import format_when
from apps.tenancy.money import current_currency, format_money


def money_column(field: str, description: str | None = None) -> Callable:
    @admin.display(description=description or field.replace("_", " "), ordering=field)
    def column(obj):
        return format_money(getattr(obj, field), current_currency())

    column.__name__ = f"{field}_as_money"
    return column


def when_column(field: str, description: str | None = None) -> Callable:
    @admin.display(description=description or field.replace("_", " "), ordering=field)
    def column(obj):
        return format_when(getattr(obj, field))

    column.__name__ = f"{field}_as_when"
    return column


class HistoryInline(admin.TabularInline):
    """Rows recorded under their parent (stage changes, feedback, deliveries): listed in full
    on the parent's page and never deleted from it."""

    extra = 0
    can_delete = False


class SettingsAdmin(admin.ModelAdmin):
    """An organisation's one row of settings: editable, never added twice nor deleted."""

    def has_add_permission(self, request) -> bool:
        return super().has_add_permission(request) and not self.model._default_manager.exists()

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
