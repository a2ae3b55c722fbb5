"""What a proposed action looks like to the customer, and what an approver may edit in it.

One statement per action type (``ACTION_FORMS``): the fields the customer would see, in
order, and the rule each edited value must meet. The queue card, the detail page and the
notification email render through ``render_action``; an approval with edits is checked by
``clean_edited_payload``. Money is shown in the organisation's currency
(``apps.tenancy.money.format_money``).
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import translation

from apps.tenancy.money import current_currency, format_money

MAX_EDITED_PAYLOAD_BYTES = 64 * 1024


@dataclass(frozen=True)
class FieldSpec:
    """One field of an action as the customer sees it, and the rule an edit must meet."""

    key: str
    label: str
    kind: str = "line"  # line | text | emails | datetime | number | percent | money
    required: bool = False
    max_length: int = 300

    @property
    def multiline(self) -> bool:
        return self.kind == "text"

    def clean(self, value: object) -> object:
        """The value to store, or ValidationError with a message for the approver."""
        if value is None or (isinstance(value, str) and not value.strip()):
            if self.required:
                raise ValidationError(f"{self.label} cannot be empty.")
            return ""
        if self.kind in ("number", "percent", "money"):
            try:
                number = Decimal(str(value).strip().replace(",", ""))
            except (InvalidOperation, ValueError):
                raise ValidationError(f"{self.label} must be a number.") from None
            if not number.is_finite() or number < 0:
                raise ValidationError(f"{self.label} must be zero or more.")
            if self.kind == "percent" and number > 100:
                raise ValidationError(f"{self.label} must be between 0 and 100.")
            if number > Decimal("1e12"):
                raise ValidationError(f"{self.label} is too large.")
            return int(number) if number == number.to_integral_value() else float(number)
        if not isinstance(value, str):
            raise ValidationError(f"{self.label} must be text.")
        text = value.replace("\r\n", "\n").replace("\0", "")
        if len(text) > self.max_length:
            raise ValidationError(f"Keep {self.label.lower()} under {self.max_length} characters.")
        if self.kind != "text":
            text = text.strip()
            if "\n" in text:
                raise ValidationError(f"{self.label} must be on one line.")
        if self.kind == "emails":
            for address in [part.strip() for part in text.split(",") if part.strip()]:
                try:
                    validate_email(address)
                except ValidationError:
                    raise ValidationError(
                        f"{self.label}: '{address[:80]}' is not an email address."
                    ) from None
        if self.kind == "datetime":
            try:
                datetime.fromisoformat(text)
            except ValueError:
                raise ValidationError(
                    f"{self.label}: use a date and time like 2026-03-01T14:30."
                ) from None
        return text


@dataclass(frozen=True)
class ActionForm:
    kind: str  # email | linkedin | meeting | pricing | task (template and CSS class)
    title: str
    fields: tuple[FieldSpec, ...]


TO = FieldSpec("to", "To", "emails", required=True)
CC = FieldSpec("cc", "Cc", "emails")
SUBJECT = FieldSpec("subject", "Subject", required=True)
BODY = FieldSpec("body", "Body", "text", max_length=20_000)

EMAIL = ActionForm("email", "Email", (TO, CC, SUBJECT, BODY))
ESCALATION = ActionForm(
    "email",
    "Escalation",
    (TO, FieldSpec("summary", "Summary", "text", required=True, max_length=5000), BODY),
)
LINKEDIN = ActionForm(
    "linkedin",
    "LinkedIn message",
    (
        FieldSpec("profile", "To (profile)"),
        FieldSpec("message", "Message", "text", required=True, max_length=8000),
    ),
)
MEETING = ActionForm(
    "meeting",
    "Meeting invite",
    (
        FieldSpec("contact_name", "Who"),
        FieldSpec("contact_title", "Their role"),
        FieldSpec("attendees", "Attendees", "emails", max_length=2000),
        FieldSpec("start", "When", "datetime"),
        FieldSpec("duration_minutes", "Duration (minutes)", "number"),
        FieldSpec("subject", "Subject"),
        FieldSpec("agenda", "Agenda", "text", max_length=10_000),
    ),
)
PRICING = ActionForm(
    "pricing",
    "Discount or pricing commitment",
    (
        FieldSpec("to", "To", "emails"),
        FieldSpec("subject", "Subject"),
        FieldSpec("terms", "Terms", "text", max_length=10_000),
        FieldSpec("discount_reason", "Why the discount"),
        FieldSpec("discount_pct", "Discount %", "percent"),
        FieldSpec("price_per_seat", "Price per seat", "money"),
        FieldSpec("term_months", "Term (months)", "number"),
    ),
)
ACTION_FORMS: dict[str, ActionForm] = {
    "email_sent": EMAIL,
    "follow_up_email": EMAIL,
    "contract_send": EMAIL,
    "escalation": ESCALATION,
    "linkedin_message": LINKEDIN,
    "meeting_request": MEETING,
    "discount_offer": PRICING,
    "pricing_commitment": PRICING,
}


def action_form(action_type: str, payload: dict | None = None) -> ActionForm:
    """The form of an action type; an unknown type shows its payload keys as text fields."""
    if action_type in ACTION_FORMS:
        return ACTION_FORMS[action_type]
    keys = [key for key in (payload or {}) if isinstance(key, str)][:30]
    return ActionForm(
        "task",
        action_type.replace("_", " ").capitalize(),
        tuple(
            FieldSpec(key, key.replace("_", " ").capitalize(), "text", max_length=20_000)
            for key in keys
        ),
    )


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float, Decimal)):
        return str(value)
    return json.dumps(value, default=str, ensure_ascii=False)


@dataclass
class RenderedField:
    key: str
    label: str
    value: str
    multiline: bool
    kind: str


@dataclass
class RenderedAction:
    """An action as the customer would receive it, ready for a template."""

    kind: str
    title: str
    fields: list[RenderedField]
    extras: list[RenderedField] = field(default_factory=list)
    money: list[tuple[str, str]] = field(default_factory=list)
    edited: bool = False


def _money_lines(action, payload: dict, currency: str, locale: str) -> list[tuple[str, str]]:
    """Pricing terms in money: amount, discount, deal value before and after."""
    lines: list[tuple[str, str]] = []
    pct = payload.get("discount_pct", action.discount_pct)
    try:
        pct = Decimal(str(pct)) if pct not in (None, "") else None
    except InvalidOperation:
        pct = None
    deal_value = action.deal.amount if action.deal_id else None
    if action.amount is not None:
        lines.append(("Amount", format_money(action.amount, currency, locale)))
    if pct is not None:
        lines.append(("Discount", f"{pct.normalize():f} %"))
    before = deal_value if deal_value is not None else action.amount
    if before is not None:
        lines.append(("Deal value before", format_money(before, currency, locale)))
        if pct is not None:
            after = before * (Decimal(100) - pct) / Decimal(100)
            lines.append(("Deal value after", format_money(after, currency, locale)))
    return lines


def render_action(
    action, *, payload: dict | None = None, currency: str | None = None, locale: str = ""
) -> RenderedAction:
    """The action as it will be sent: the edited version once an approver edited it."""
    payload = payload if payload is not None else action.to_execute
    if not isinstance(payload, dict):
        payload = {"payload": payload}
    currency = currency or current_currency()
    locale = locale or translation.get_language() or "en"
    form = action_form(action.action_type, payload)
    known = {spec.key for spec in form.fields}
    fields = [
        RenderedField(spec.key, spec.label, _text(payload.get(spec.key)), spec.multiline, spec.kind)
        for spec in form.fields
        if payload.get(spec.key) not in (None, "")
    ]
    for rendered in fields:
        if rendered.kind == "money" and rendered.value:
            rendered.value = format_money(rendered.value, currency, locale)
    extras = [
        RenderedField(str(key), str(key).replace("_", " ").capitalize(), _text(value), True, "")
        for key, value in payload.items()
        if key not in known and value not in (None, "")
    ]
    money = _money_lines(action, payload, currency, locale) if form.kind == "pricing" else []
    if form.kind != "pricing" and action.amount is not None:
        money = [("Amount", format_money(action.amount, currency, locale))]
    return RenderedAction(
        kind=form.kind,
        title=form.title,
        fields=fields,
        extras=extras,
        money=money,
        edited=bool(action.edited),
    )


def edit_fields(action, values: dict | None = None) -> list[tuple[FieldSpec, str]]:
    """The editable fields of an action with their current (or re-submitted) values."""
    current = values if values is not None else action.to_execute
    form = action_form(action.action_type, action.payload)
    return [(spec, _text(current.get(spec.key))) for spec in form.fields]


def example_text(action_type: str, payload: dict) -> str:
    """The written part of an action, as an example of its kind: its one-line and
    multi-line text fields (for an email the subject and the body), in form order."""
    parts = []
    for spec in action_form(action_type, payload).fields:
        value = _text(payload.get(spec.key)).strip()
        if not value or spec.kind not in ("line", "text"):
            continue
        parts.append(value if spec.multiline else f"{spec.label}: {value}")
    return "\n\n".join(parts)


def clean_edited_payload(action_type: str, proposed: dict, edited: object) -> dict:
    """The payload an approver approves: the proposal with their edits, each field checked.

    Keys the form knows are cleaned by their rule; other keys are kept as given (the agent
    may carry its own data). Raises ``ValidationError`` keyed by field.
    """
    if not isinstance(edited, dict):
        raise ValidationError({"payload": "Send the edited payload as a JSON object."})
    try:
        size = len(json.dumps(edited, default=str))
    except (TypeError, ValueError):
        raise ValidationError({"payload": "The edited payload is not valid JSON."}) from None
    if "\\u0000" in json.dumps(edited, default=str):
        raise ValidationError({"payload": "The edited payload contains a NUL character."})
    if size > MAX_EDITED_PAYLOAD_BYTES:
        raise ValidationError({"payload": "The edited payload is too large (64 KB at most)."})
    form = action_form(action_type, proposed)
    cleaned = dict(edited)
    errors: dict[str, list[str]] = {}
    for spec in form.fields:
        if spec.key not in edited and spec.key not in proposed:
            if spec.required:
                errors[spec.key] = [f"{spec.label} cannot be empty."]
            continue
        try:
            value = spec.clean(edited.get(spec.key, proposed.get(spec.key)))
        except ValidationError as invalid:
            errors[spec.key] = invalid.messages
            continue
        if value == "" and spec.key not in proposed:
            cleaned.pop(spec.key, None)
        else:
            cleaned[spec.key] = value
    if errors:
        raise ValidationError(errors)
    return cleaned


def payload_changes(before: dict, after: dict) -> list[dict]:
    """What an approver changed, per field: ``{"field", "before", "after"}`` (JSON-safe)."""
    keys = list(before) + [key for key in after if key not in before]
    return [
        {"field": str(key), "before": before.get(key), "after": after.get(key)}
        for key in keys
        if before.get(key) != after.get(key)
    ]


def text_diff(before: object, after: object) -> list[tuple[str, str]]:
    """Line diff for the audit trail: (``-``, ``+`` or `` ``, line)."""
    old, new = _text(before).splitlines(), _text(after).splitlines()
    lines = []
    for line in difflib.ndiff(old, new):
        if line.startswith("? "):
            continue
        lines.append((line[0], line[2:]))
    return lines
