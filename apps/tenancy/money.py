"""Money as people read it: the organisation's currency, the reader's number format.

One statement for every page, e-mail and admin column. ``format_money(Decimal("201000"),
"USD")`` → ``"$201,000"``; ``format_money(Decimal("1234.5"), "EUR", "de")`` →
``"1.234,50 €"``. Whole amounts show no cents; others two decimals, or none for currencies
without minor units (JPY). Small on purpose (no locale database): the separators and symbol
placement of the locales we serve and the symbols of common currencies; any other ISO code
is written out (``"1,234.50 NOK"``).
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, InvalidOperation

DEFAULT_CURRENCY = "USD"
SYMBOLS = {
    "USD": "$",
    "EUR": "€",
    "GBP": "£",
    "JPY": "¥",
    "INR": "₹",
    "CAD": "CA$",
    "AUD": "A$",
}
NO_MINOR_UNITS = {"JPY", "KRW"}
# language → (thousands separator, decimal mark, symbol after the number)
LOCALE_FORMATS = {
    "en": (",", ".", False),
    "de": (".", ",", True),
    "fr": ("\u202f", ",", True),
    "es": (".", ",", True),
    "it": (".", ",", True),
    "nl": (".", ",", False),
    "sv": ("\u00a0", ",", True),
    "de-ch": ("’", ".", False),
}


def _locale_format(locale: str | None) -> tuple[str, str, bool]:
    locale = (locale or "en").lower().replace("_", "-")
    return LOCALE_FORMATS.get(locale) or LOCALE_FORMATS.get(
        locale.split("-")[0], LOCALE_FORMATS["en"]
    )


def format_money(
    amount: Decimal | int | float | str | None,
    currency: str = DEFAULT_CURRENCY,
    locale: str | None = None,
    *,
    whole: bool = False,
    compact: bool = False,
) -> str:
    """``amount`` in ``currency`` for the reader's ``locale``; "—" when there is none.

    ``whole`` drops the cents (tables where they are noise); ``compact`` rounds for chart
    labels and headline figures: "$1.2M", "$62k".
    """
    if amount is None or amount == "":
        return "—"
    try:
        value = Decimal(str(amount))
    except (InvalidOperation, ValueError):
        return "—"
    if not value.is_finite():
        return "—"
    currency = (currency or DEFAULT_CURRENCY).upper()
    thousands, mark, after = _locale_format(locale)
    sign = "−" if value < 0 else ""
    value = abs(value)
    suffix = ""
    if compact and value >= 1_000_000:
        value, suffix, places = value / 1_000_000, "M", 1
    elif compact and value >= 10_000:
        value, suffix, places = value / 1000, "k", 0
    elif whole or currency in NO_MINOR_UNITS or value == value.to_integral_value():
        places = 0
    else:
        places = 2
    rounding = ROUND_HALF_EVEN if suffix else ROUND_HALF_UP  # headline figures: no upward bias
    rounded = value.quantize(Decimal(1).scaleb(-places), rounding=rounding)
    integer, _, fraction = f"{rounded:,.{places}f}".partition(".")
    number = integer.replace(",", thousands) + (mark + fraction if fraction else "") + suffix
    symbol = SYMBOLS.get(currency)
    if after or symbol is None:
        return f"{sign}{number}\u00a0{symbol or currency}"
    return f"{sign}{symbol}{number}"


def current_currency() -> str:
    """The currency of the organisation this request or task runs in (USD outside one)."""
    from apps.tenancy.current import current_organization

    return getattr(current_organization(), "currency", "") or DEFAULT_CURRENCY
