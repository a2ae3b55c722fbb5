"""How a moment reads: relative within a week ("3 h ago", "in 2 days"), absolute beyond
("27 Nov 2026"), always in the user's time zone (the active one, see
``apps.users.middleware``), with the exact time in a tooltip and a machine-readable
``<time datetime>``. One statement for every page and the admin.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.html import format_html
from django.utils.safestring import SafeString

RELATIVE_WITHIN = timedelta(days=7)


def relative_text(moment: datetime, now: datetime) -> str | None:
    """ "just now", "5 min ago", "3 h ago", "yesterday", "4 days ago" (and the future
    forms), or None when the moment is a week or more away."""
    delta = now - moment
    future = delta < timedelta(0)
    span = abs(delta)
    if span >= RELATIVE_WITHIN:
        return None
    seconds = int(span.total_seconds())
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        amount = f"{seconds // 60} min"
    elif seconds < 86400:
        amount = f"{seconds // 3600} h"
    else:
        days = seconds // 86400
        if days == 1:
            return "tomorrow" if future else "yesterday"
        amount = f"{days} days"
    return f"in {amount}" if future else f"{amount} ago"


def absolute_text(moment: datetime | date, now: datetime | None = None) -> str:
    """ "27 Nov 2026" (a date), "27 Nov 2026, 13:03" (a moment, in the user's zone)."""
    if isinstance(moment, datetime):
        local = timezone.localtime(moment) if timezone.is_aware(moment) else moment
        return f"{local.day} {local:%b %Y, %H:%M}"
    return f"{moment.day} {moment:%b %Y}"


def format_when(value: datetime | date | None, now: datetime | None = None) -> SafeString | str:
    """``<time datetime="…" title="exact">relative or absolute</time>``; "—" for None."""
    if value is None or value == "":
        return "—"
    if isinstance(value, str):  # a date or moment that went through JSON (cached page data)
        parsed = parse_date(value) if len(value) == 10 else parse_datetime(value)
        if parsed is None:
            return value
        value = parsed
    if not isinstance(value, datetime):
        return format_html('<time datetime="{}">{}</time>', value.isoformat(), absolute_text(value))
    now = now or timezone.now()
    aware = value if timezone.is_aware(value) else timezone.make_aware(value)
    local = timezone.localtime(aware)
    text = relative_text(aware, now) or absolute_text(aware)
    return format_html(
        '<time datetime="{}" title="{}">{}</time>',
        aware.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        f"{local:%a} {local.day} {local:%b %Y, %H:%M %Z}",
        text,
    )
