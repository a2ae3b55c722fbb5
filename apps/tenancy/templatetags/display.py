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
