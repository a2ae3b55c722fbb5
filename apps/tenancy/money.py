"""Money as people read it: the organisation's currency, the reader's number format.

``format_money(Decimal("1234.5"), "EUR", "de")`` → ``"1.234,50 €"``. Small on purpose
(no locale database): the separators and symbol placement of the locales we serve, and
the symbols of common currencies; any other ISO code is written out (``"1,234.50 NOK"``).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

DEFAULT_CURRENCY = "USD"
SYMBOLS = {
    "USD": "$",
    "EUR": "€",
    "GBP": "£",
    "JPY": "¥",
    "INR": "₹",
    "CAD": "CA$",
    "AUD": "A$",
    "CHF": "CHF",
}
ZERO_DECIMAL = {"JPY", "KRW"}
# language → (thousands separator, decimal separator, symbol after the number)
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


def _format(locale: str) -> tuple[str, str, bool]:
    locale = (locale or "en").lower().replace("_", "-")
    return LOCALE_FORMATS.get(locale) or LOCALE_FORMATS.get(locale.split("-")[0], (",", ".", False))


def format_number(value: Decimal, places: int, locale: str) -> str:
    thousands, decimal_mark, _ = _format(locale)
    quantum = Decimal(1).scaleb(-places)
    rounded = value.quantize(quantum, rounding=ROUND_HALF_UP)
    sign = "-" if rounded < 0 else ""
    whole, _, fraction = f"{abs(rounded):.{places}f}".partition(".")
    groups = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    text = thousands.join(groups)
    return sign + (text + decimal_mark + fraction if places else text)


def format_money(
    amount: Decimal | int | float | str | None,
    currency: str = DEFAULT_CURRENCY,
    locale: str = "en",
    *,
    whole: bool = False,
) -> str:
    """The amount with its currency, formatted for the locale; "—" when there is none.

    ``whole=True`` drops the cents (for dashboards and facts where they are noise).
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
    places = 0 if whole or currency in ZERO_DECIMAL else 2
    number = format_number(value, places, locale)
    symbol = SYMBOLS.get(currency)
    _, _, symbol_after = _format(locale)
    if symbol is None:
        return f"{number}\u00a0{currency}"
    if symbol_after or len(symbol) > 1 and symbol.isalpha():
        return f"{number}\u00a0{symbol}"
    if number.startswith("-"):
        return f"-{symbol}{number[1:]}"
    return f"{symbol}{number}"
