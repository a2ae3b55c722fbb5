"""Display helpers for approval pages: time left, payload preview, money, percentages."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal

from django import template
from django.utils import timezone, translation

from apps.approvals.rendering import text_diff
from apps.tenancy.money import current_currency, format_money

register = template.Library()

# Payload keys a manager wants to see first, in this order; the rest follow.
PREVIEW_FIRST = ["subject", "to", "contact_name", "contact_title", "channel", "body", "message"]
PREVIEW_ITEMS = 4
PREVIEW_CHARS = 140


@register.filter
def time_left(expires_at: datetime | None) -> dict:
    """``{"text": "5 h 10 min left", "level": "ok|soon|urgent|over"}``."""
    if expires_at is None:
        return {"text": "", "level": "ok"}
    seconds = (expires_at - timezone.now()).total_seconds()
    if seconds <= 0:
        return {"text": "Expired", "level": "over"}
    hours, minutes = int(seconds // 3600), int(seconds % 3600 // 60)
    if hours >= 24:
        text = f"{hours // 24} d {hours % 24} h left"
    elif hours:
        text = f"{hours} h {minutes} min left"
    else:
        text = f"{max(minutes, 1)} min left"
    level = "urgent" if seconds < 3600 else "soon" if seconds < 4 * 3600 else "ok"
    return {"text": text, "level": level}


def _short(value: object) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    text = " ".join(text.split())
    return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1] + "…"


@register.filter
def payload_preview(payload: object) -> list[tuple[str, str]]:
    """The first few payload fields as (label, short text), the telling ones first."""
    if not isinstance(payload, dict):
        return [("payload", _short(payload))] if payload else []
    keys = [key for key in PREVIEW_FIRST if key in payload]
    keys += [key for key in payload if key not in keys]
    return [(str(key).replace("_", " "), _short(payload[key])) for key in keys[:PREVIEW_ITEMS]]


@register.filter
def pretty_json(value: object) -> str:
    return json.dumps(value, indent=2, sort_keys=True, default=str, ensure_ascii=False)


@register.filter
def money(value: Decimal | None) -> str:
    """In the organisation's currency, formatted for the reader's language, whole units."""
    return format_money(value, current_currency(), translation.get_language() or "en", whole=True)


@register.filter
def change_diff(change: dict) -> list[tuple[str, str]]:
    """An audit change (``{"field", "before", "after"}``) as diff lines for the trail."""
    return text_diff(change.get("before"), change.get("after"))


@register.filter
def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f} %"


@register.filter
def humanize_code(value: str) -> str:
    return value.replace("_", " ").capitalize() if value else ""
