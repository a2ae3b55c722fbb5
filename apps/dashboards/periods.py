"""Date ranges of the dashboards (30 / 90 / 365 days) and the buckets their trends use."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

PERIOD_DAYS: dict[str, int] = {"30d": 30, "90d": 90, "365d": 365}
DEFAULT_PERIOD = "30d"
PERIOD_LABELS: dict[str, str] = {"30d": "30 days", "90d": "90 days", "365d": "12 months"}
# The trends API also accepts the bucket it wants (source 003's ``period=day|week|month``):
# each names the range whose chart uses that bucket.
BUCKET_PERIODS: dict[str, str] = {"day": "30d", "week": "90d", "month": "365d"}


@dataclass(frozen=True)
class Period:
    """A trailing window ending now, with the bucket size its trend chart uses.

    30 days are shown per day, 90 days per week (ISO weeks, Monday first), a year per
    month, so that every chart has between 12 and 31 points.
    """

    code: str
    now: datetime

    @property
    def days(self) -> int:
        return PERIOD_DAYS[self.code]

    @property
    def label(self) -> str:
        return PERIOD_LABELS[self.code]

    @property
    def start(self) -> datetime:
        if self.bucket == "day":
            # Whole days, so that the first bar of the chart is not a partial day.
            today = self.now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
            return today - timedelta(days=self.days - 1)
        return self.now - timedelta(days=self.days)

    @property
    def start_day(self) -> date:
        return self.start.astimezone(UTC).date()

    @property
    def previous_start_day(self) -> date:
        return self.previous_start.astimezone(UTC).date()

    @property
    def previous_start(self) -> datetime:
        return self.start - (self.now - self.start)

    @property
    def bucket(self) -> str:
        return {"30d": "day", "90d": "week", "365d": "month"}[self.code]

    def bucket_starts(self) -> list[date]:
        """Every bucket from the one holding ``start`` to the one holding ``now``."""
        first, last = self.start.astimezone(UTC).date(), self.now.astimezone(UTC).date()
        if self.bucket == "day":
            return [first + timedelta(days=n) for n in range((last - first).days + 1)]
        if self.bucket == "week":
            monday = first - timedelta(days=first.weekday())
            weeks = (last - monday).days // 7 + 1
            return [monday + timedelta(weeks=n) for n in range(weeks)]
        starts, month = [], first.replace(day=1)
        while month <= last:
            starts.append(month)
            month = (month + timedelta(days=32)).replace(day=1)
        return starts

    def bucket_label(self, start: date) -> str:
        if self.bucket in ("day", "week"):
            return f"{start.day} {start:%b}"
        return f"{start:%b} ’{start:%y}"  # a year spans two Novembers: say which


def parse_period(value: str | None) -> str | None:
    """The period code for ``value`` (default when empty), or ``None`` when it is not one."""
    if not value:
        return DEFAULT_PERIOD
    return value if value in PERIOD_DAYS else None
