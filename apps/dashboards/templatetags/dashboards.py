"""Number formatting for the dashboards: percentages, money, deltas in points."""

from __future__ import annotations

from django import template
from django.utils import timezone
from django.utils.timesince import timesince

from apps.dashboards import charts

register = template.Library()


@register.filter
def pct(value: float | None) -> str:
    return charts.percent(value)


@register.filter
def money(value: float | None) -> str:
    return charts.money(value)


@register.filter
def score(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


@register.filter
def width_pct(value: float | None) -> str:
    """A CSS width from a 0-1 share, never below a visible sliver when non-zero."""
    if not value:
        return "0%"
    return f"{max(1.5, min(100.0, value * 100)):.1f}%"


@register.simple_tag
def delta(current: float | None, previous: float | None) -> dict:
    """The change between two rates in percentage points: text and direction."""
    if current is None or previous is None:
        return {"text": "", "direction": ""}
    points = round((current - previous) * 100)
    if points == 0:
        return {"text": "same as before", "direction": "flat"}
    arrow = "▲" if points > 0 else "▼"
    return {
        "text": f"{arrow} {abs(points)} pts vs previous",
        "direction": "up" if points > 0 else "down",
    }


@register.filter
def duration_short(seconds: float | None) -> str:
    """``95`` → "2 min", ``7200`` → "2.0 h", ``200000`` → "2.3 days"."""
    if seconds is None:
        return "—"
    if seconds < 3600:
        return f"{max(1, round(seconds / 60))} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


@register.filter
def ago(moment) -> str:
    """ "just now" under a minute, else Django's timesince ("3 minutes ago")."""
    if moment is None:
        return ""
    if (timezone.now() - moment).total_seconds() < 60:
        return "just now"
    return f"{timesince(moment)} ago"
