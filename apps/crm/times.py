"""The one rule for times a client sends: a sane range, checked on every write path.

A time before 2000 or more than a day ahead is a client's bug (a default of year 1, a
wrong unit), and one such row once broke every reader of an organisation: Python cannot
represent a year-0 time that PostgreSQL stores. Every API that takes a time calls
``time_range_error``; the tables also refuse the hard limits (``EARLIEST`` …
``LATEST_STORABLE``) by constraint, so no path can store what readers cannot load.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.utils import timezone

EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
AHEAD = timedelta(days=1)
# The constraint's upper bound (a constraint cannot read the clock): far enough for any
# window end, well inside what Python's datetime can load.
LATEST_STORABLE = datetime(9000, 1, 1, tzinfo=UTC)
TIME_RANGE_MESSAGE = "Times must lie between 2000-01-01 and one day from now."


def time_range_error(value: datetime, *, now: datetime | None = None) -> str | None:
    """``TIME_RANGE_MESSAGE`` when an aware ``value`` lies outside the sane range, else None."""
    if value < EARLIEST or value > (now or timezone.now()) + AHEAD:
        return TIME_RANGE_MESSAGE
    return None
