"""How an amount of money reads: ``format_money(Decimal("201000"), "USD")`` → "$201,000".

One statement for every page, e-mail and admin column; the currency is the organisation's
(``Organization.currency``). Whole amounts show no cents; others show two decimals, or none
for currencies without minor units (JPY).
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, InvalidOperation

SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "CAD": "CA$", "AUD": "A$", "INR": "₹"}
NO_MINOR_UNITS = {"JPY", "KRW"}
# (thousands separator, decimal mark, symbol after the number) by language.
SEPARATORS = {"en": (",", ".", False), "de": (".", ",", True), "fr": ("\u202f", ",", True)}


def format_money(
    amount: Decimal | float | int | None,
    currency: str = "USD",
    locale: str | None = None,
    *,
    compact: bool = False,
) -> str:
    """``amount`` in ``currency`` ("—" when unknown). ``compact`` rounds for chart labels
    and headline figures: "$1.2M", "$62k"."""
    if amount is None or amount == "":
        return "—"
    try:
        value = Decimal(str(amount))
    except InvalidOperation:
        return "—"
    currency = (currency or "USD").upper()
    thousands, mark, after = SEPARATORS.get((locale or "en")[:2].lower(), SEPARATORS["en"])
    sign = "−" if value < 0 else ""
    value = abs(value)
    suffix = ""
    if compact and value >= 1_000_000:
        value, suffix, places = value / 1_000_000, "M", 1
    elif compact and value >= 10_000:
        value, suffix, places = value / 1000, "k", 0
    elif currency in NO_MINOR_UNITS or value == value.to_integral_value():
        places = 0
    else:
        places = 2
    rounding = ROUND_HALF_EVEN if suffix else ROUND_HALF_UP  # headline figures: no upward bias
    rounded = value.quantize(Decimal(1).scaleb(-places), rounding=rounding)
    whole, _, fraction = f"{rounded:,.{places}f}".partition(".")
    number = whole.replace(",", thousands) + (mark + fraction if fraction else "") + suffix
    symbol = SYMBOLS.get(currency)
    if after or symbol is None:
        return f"{sign}{number}\u00a0{symbol or currency}"
    return f"{sign}{symbol}{number}"


def current_currency() -> str:
    """The currency of the organisation this request or task runs in ("USD" outside one)."""
    from django.db import connection

    return getattr(getattr(connection, "tenant", None), "currency", None) or "USD"
