"""Recording one agent action, and the field rules every recording path states once."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from apps.crm.models import Account, Deal
from apps.crm.times import time_range_error
from apps.outcomes.models import ActionType, OutcomeRecord, Signal
from apps.personas.models import Clone

MAX_OUTPUT_TEXT = 50_000
# An agent's clock may run a little ahead of ours; an action far in the future is a bug.
FUTURE_TOLERANCE = timedelta(minutes=5)
# No place on Earth is further from UTC than 14 hours; PostgreSQL takes up to 15:59.
MAX_UTC_OFFSET = timedelta(hours=16)
NUL_MESSAGE = "Null characters are not allowed."  # PostgreSQL cannot store them
# Re-posting a deleted record's external_id: both endpoints answer this ({id}: the record).
DELETED_MESSAGE = (
    "Outcome {id} with this external_id was deleted; an admin can restore it."
    " It is not recorded again."
)


class OutcomeDeleted(ValidationError):
    """The external_id belongs to a deleted (soft-deleted) outcome: not recorded again.

    The outcomes API answers 409; any other caller that lets it through answers 400.
    """

    def __init__(self, record: OutcomeRecord):
        self.record = record
        self.text = DELETED_MESSAGE.format(id=record.pk)
        super().__init__({"external_id": self.text})


def parse_time(value: object) -> object:
    """A client's time as a datetime when it parses, else the value as given (then
    ``_time_error`` names what is wrong with it)."""
    if value is None or isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:  # the C parser takes the common RFC 3339 forms; Django's takes the rest
            return datetime.fromisoformat(value)
        except ValueError:
            pass
        try:
            return parse_datetime(value) or value
        except ValueError:
            return value
    return value


def _time_error(occurred_at: object, *, now: datetime) -> str | None:
    """The error of an action's time, or None: the one statement of the rule, which the
    single-record and bulk paths both call (so both answer the same messages)."""
    if not isinstance(occurred_at, datetime):
        return "A date and time with a time zone is required (ISO 8601)."
    offset = occurred_at.utcoffset()
    if offset is None:
        return "Give a time zone (for example 2026-01-31T09:00:00Z)."
    if abs(offset) >= MAX_UTC_OFFSET:
        return "The time zone is out of range."
    if range_error := time_range_error(occurred_at, now=now):
        return range_error
    if occurred_at > now + FUTURE_TOLERANCE:
        return "An action cannot have happened in the future."
    return None


def _confidence_error(value: object) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        return "A number between 0 and 1 is required."
    if not 0 <= value <= 1:
        return "Must be between 0 and 1."
    return None


def _check_values(
    *,
    external_id: object,
    predicted_confidence: object,
    occurred_at: object,
    output_text: object,
    metadata: object,
    now: datetime,
) -> dict[str, str]:
    """Field errors of the plain values of one action (references are checked elsewhere)."""
    errors: dict[str, str] = {}
    if not isinstance(external_id, str) or not external_id.strip():
        errors["external_id"] = "This field is required."
    elif len(external_id) > 200:
        errors["external_id"] = "Ensure this field has no more than 200 characters."
    elif "\x00" in external_id:
        errors["external_id"] = NUL_MESSAGE
    if confidence_error := _confidence_error(predicted_confidence):
        errors["predicted_confidence"] = confidence_error
    if time_error := _time_error(occurred_at, now=now):
        errors["occurred_at"] = time_error
    if not isinstance(output_text, str):
        errors["output_text"] = "Must be text."
    elif len(output_text) > MAX_OUTPUT_TEXT:
        errors["output_text"] = f"Ensure this field has no more than {MAX_OUTPUT_TEXT} characters."
    elif "\x00" in output_text:
        errors["output_text"] = NUL_MESSAGE
    if not isinstance(metadata, dict):
        errors["metadata"] = "Must be a JSON object."
    return errors


def _check_references(
    *, action_type: ActionType | None, account: Account | None, deal: Deal | None
) -> dict[str, str]:
    errors: dict[str, str] = {}
    if action_type is None or not action_type.is_active:
        errors["action_type"] = "Unknown or inactive action type."
    if account is None:
        errors["account"] = "Unknown account."
    if deal is not None and account is not None and deal.account_id != account.pk:
        errors["deal"] = "This deal belongs to another account."
    if (
        action_type is not None
        and action_type.signal == Signal.DEAL_PROGRESSION
        and deal is None
        and "deal" not in errors
    ):
        errors["deal"] = f"A {action_type.code} action needs the deal it is meant to progress."
    return errors


def outcome_record(
    *,
    external_id: str,
    action_type: ActionType,
    account: Account,
    predicted_confidence: float,
    occurred_at: datetime | None = None,
    deal: Deal | None = None,
    clone: Clone | None = None,
    output_text: str = "",
    metadata: dict | None = None,
) -> tuple[OutcomeRecord, bool]:
    """Record one agent action. Idempotent on ``external_id``: returns (record, created).

    A repeated ``external_id`` returns the stored record unchanged (``created`` False),
    also under a retry storm: the unique constraint decides, not a prior read.
    ``occurred_at`` defaults to now and may lie in the past (backfill); the window ends
    ``action_type.window_hours`` after it. Bad input raises ``ValidationError`` keyed by field.
    """
    now = timezone.now()
    occurred_at = occurred_at or now
    metadata = {} if metadata is None else metadata
    errors = _check_values(
        external_id=external_id,
        predicted_confidence=predicted_confidence,
        occurred_at=occurred_at,
        output_text=output_text,
        metadata=metadata,
        now=now,
    )
    existing = (
        OutcomeRecord.all_objects.filter(external_id=external_id).first()
        if "external_id" not in errors
        else None
    )
    if existing is not None:
        if existing.deleted_at is not None:
            raise OutcomeDeleted(existing)
        return existing, False
    errors |= _check_references(action_type=action_type, account=account, deal=deal)
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            record = OutcomeRecord.objects.create(
                external_id=external_id,
                action_type=action_type,
                account=account,
                deal=deal,
                clone=clone,
                predicted_confidence=float(predicted_confidence),
                occurred_at=occurred_at,
                window_ends_at=occurred_at + timedelta(hours=action_type.window_hours),
                output_text=output_text,
                metadata=metadata,
            )
    except IntegrityError:
        # A concurrent call with the same external_id won the race: return its record.
        existing = OutcomeRecord.all_objects.get(external_id=external_id)
        if existing.deleted_at is not None:
            raise OutcomeDeleted(existing) from None
        return existing, False
    return record, True
