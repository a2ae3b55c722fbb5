"""The two ways values are shown on every page: ``{{ moment|when }}`` and
``{{ amount|money }}`` (built in to every template, see settings.TEMPLATES)."""

from __future__ import annotations

from django import template
from django.utils.html import format_html

from apps.tenancy.dates import format_when
from apps.tenancy.glossary import GLOSSARY
from apps.tenancy.money import current_currency, format_money

register = template.Library()


@register.filter
def when(value):
    return format_when(value)


@register.filter
def money(value, style: str = ""):
    """``{{ deal.amount|money }}`` → "$62,000"; ``|money:"compact"`` → "$62k"."""
    return format_money(value, current_currency(), compact=style == "compact")


@register.simple_tag(name="help")
def help_text(key: str):
    """A "?" beside a statistic that opens one plain-language sentence (no JavaScript)."""
    term, sentence = GLOSSARY[key]
    return format_html(
        '<details class="help"><summary aria-label="What is {}?" title="What is {}?">?</summary>'
        "{}</details>",
        term,
        term,
        sentence,
    )


def lean_text(value: int | None, left: str, right: str) -> str:
    """Where a 0-100 two-ended setting sits, in words: "Very formal", "Fairly casual",
    "Balanced" (0 is all ``left``, 100 all ``right``)."""
    if value is None:
        return "Not set"
    if 41 <= value <= 59:
        return "Balanced"
    side = left if value < 50 else right
    strength = "Very" if value <= 20 or value >= 80 else "Fairly"
    return f"{strength} {side.lower()}"


@register.filter
def lean(value, ends: str) -> str:
    """``{{ clone.formal_casual|lean:"Formal,Casual" }}`` → "Fairly formal"."""
    left, _, right = ends.partition(",")
    try:
        number = None if value in (None, "") else int(value)
    except (TypeError, ValueError):
        number = None  # a bound form's bad input: the form shows the error
    return lean_text(number, left, right)
