"""The field rules of an agent action that Python states (times, and what JSON or
PostgreSQL cannot carry); every other rule is in the bulk statement (``bulk._BULK_SQL``),
which every recording path calls — the single-record endpoint, ``outcome_record`` and the
bulk endpoint — so each rule and its message exist once."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.utils.dateparse import parse_datetime

from apps.crm.times import time_range_error
from apps.outcomes.models import OutcomeRecord

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
