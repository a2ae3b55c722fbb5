"""The dashboards app's only writes: its two summary tables (pattern rollup, daily outcomes)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta

from django.db import connection, transaction
from django.db.models.functions import TruncDate
from django.utils import timezone

from apps.crm.models import Account
from apps.dashboards.models import OutcomeDaily, PatternRollup
from apps.dashboards.periods import Period
from apps.dashboards.selectors import cache_key, cached, rep_dashboard_data
from apps.feedback.models import FeedbackEntry, FeedbackKind
from apps.outcomes.models import ActionType, OutcomeRecord, OutcomeStatus
from apps.users.models import User

# The outcome statuses the statements below count by, as parameters.
_STATUSES = {
    "pending": OutcomeStatus.PENDING.value,
    "resolved": OutcomeStatus.RESOLVED.value,
    "expired": OutcomeStatus.EXPIRED.value,
}

# The rollup's columns in the order the statement below selects them (after the type's id).
_ROLLUP_COLUMNS = [
    "total",
    "last_7_days",
    "last_30_days",
    "decided",
    "succeeded",
    "failed",
    "success_rate",
    "mean_score",
    "ratings",
    "mean_satisfaction",
    "mean_likelihood_to_reuse",
    "would_recommend",
    "mean_usefulness",
    "last_activity_at",
    "refreshed_at",
]


def pattern_rollup_refresh() -> int:
    """Recompute every action type's pattern analytics in one statement; returns the rows.

    Per action type: totals, actions in the last 7 and 30 days, decided and succeeded
    (resolved) and failed (expired) outcomes, success rate and mean score, the last
    activity (latest action, resolution or feedback), and from detailed (1-5) feedback the
    mean satisfaction, mean usefulness, mean likelihood to reuse (1-10) and how many would
    recommend.
    """
    feedback_join = f"""
        LEFT JOIN (
            SELECT o.action_type_id,
                   count(*) AS ratings,
                   avg(f.rating)::float AS mean_satisfaction,
                   avg(f.likelihood_to_reuse)::float AS mean_reuse,
                   count(*) FILTER (WHERE f.would_recommend) AS recommend,
                   avg(f.usefulness)::float AS mean_usefulness,
                   max(f.updated_at) AS last_feedback
              FROM {FeedbackEntry._meta.db_table} f
              JOIN {OutcomeRecord._meta.db_table} o ON o.id = f.outcome_id
             WHERE f.kind = %(detailed)s
             GROUP BY o.action_type_id
        ) fb ON fb.action_type_id = t.id"""
    sql = f"""
        INSERT INTO {PatternRollup._meta.db_table} (action_type_id, {", ".join(_ROLLUP_COLUMNS)})
        SELECT t.id,
               coalesce(oc.total, 0), coalesce(oc.last_7, 0), coalesce(oc.last_30, 0),
               coalesce(oc.decided, 0), coalesce(oc.succeeded, 0), coalesce(oc.failed, 0),
               oc.succeeded::float / nullif(oc.decided, 0),
               oc.score_sum / nullif(oc.decided, 0),
               coalesce(fb.ratings, 0), fb.mean_satisfaction, fb.mean_reuse,
               coalesce(fb.recommend, 0), fb.mean_usefulness,
               GREATEST(oc.last_action, oc.last_resolution, fb.last_feedback),
               %(now)s
          FROM {ActionType._meta.db_table} t
          LEFT JOIN (
            SELECT action_type_id,
                   count(*) AS total,
                   count(*) FILTER (WHERE occurred_at >= %(now)s - interval '7 days') AS last_7,
                   count(*) FILTER (WHERE occurred_at >= %(now)s - interval '30 days') AS last_30,
                   count(*) FILTER (WHERE status <> %(pending)s) AS decided,
                   count(*) FILTER (WHERE status = %(resolved)s) AS succeeded,
                   count(*) FILTER (WHERE status = %(expired)s) AS failed,
                   sum(score) FILTER (WHERE status <> %(pending)s) AS score_sum,
                   max(occurred_at) AS last_action,
                   max(resolved_at) AS last_resolution
              FROM {OutcomeRecord._meta.db_table}
             WHERE deleted_at IS NULL
             GROUP BY action_type_id
          ) oc ON oc.action_type_id = t.id
          {feedback_join}
        ON CONFLICT (action_type_id) DO UPDATE SET
            {", ".join(f"{column} = EXCLUDED.{column}" for column in _ROLLUP_COLUMNS)}
    """
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            sql,
            {"now": timezone.now(), "detailed": FeedbackKind.DASHBOARD.value, **_STATUSES},
        )
        return cursor.rowcount


RECENT_DAYS = 35  # longer than every action window (30 days), so late resolutions land

# pg_advisory_xact_lock(namespace, hashtext(schema)): one lock per organisation for the
# daily summary, so a "refresh now" and the 5-minute job (or eight "refresh now"s) take
# turns instead of interleaving their writes. Released when the transaction ends.
_OUTCOME_DAILY_LOCK_NAMESPACE = 0x4F44  # "OD"


def _outcome_daily_lock(cursor) -> None:
    cursor.execute(
        "SELECT pg_advisory_xact_lock(%s, hashtext(%s))",
        [_OUTCOME_DAILY_LOCK_NAMESPACE, connection.schema_name],
    )


def outcome_daily_refresh(*, since: date | None = None, days: list[date] | None = None) -> int:
    """Recompute the daily outcome counts from ``since`` (all history when neither is given)
    or for exactly ``days``; returns the number of daily rows written.

    One statement under the organisation's advisory lock: the fresh counts are upserted on
    the summary's unique key (day, action type, clone, owner) and the rows of the range
    that no longer have outcomes are deleted. With the lock two refreshes never interleave;
    with the unique key a row can never be counted twice whatever happens.
    """
    daily, outcomes = OutcomeDaily._meta.db_table, OutcomeRecord._meta.db_table
    accounts = Account._meta.db_table
    source, where = f"{outcomes} o", "TRUE"
    if days is not None:
        # One index range scan per day (a bare ``date(occurred_at) = ANY`` reads every row).
        source = f"""unnest(%(days)s::date[]) d(day)
            JOIN {outcomes} o ON o.occurred_at >= (d.day::timestamp AT TIME ZONE 'UTC')
                             AND o.occurred_at < ((d.day + 1)::timestamp AT TIME ZONE 'UTC')"""
        params = {"days": sorted(set(days))}  # a day twice would count its outcomes twice
        in_range = "day = ANY(%(days)s)"
    elif since is not None:
        moment = datetime.combine(since, time.min, tzinfo=UTC)
        where, params = "o.occurred_at >= %(moment)s", {"moment": moment, "since": since}
        in_range = "day >= %(since)s"
    else:
        params, in_range = {}, "TRUE"
    # The DELETE sees the table as it was before the statement, so it must not touch the
    # rows the upsert just wrote: it keeps every id the upsert returned.
    statement = f"""
        WITH upserted AS (
            INSERT INTO {daily} (day, action_type_id, clone_id, owner_id, outcomes, decided,
                                 succeeded, score_sum)
            SELECT (o.occurred_at AT TIME ZONE 'UTC')::date, o.action_type_id, o.clone_id,
                   a.owner_id, count(*),
                   count(*) FILTER (WHERE o.status <> %(pending)s),
                   count(*) FILTER (WHERE o.status = %(resolved)s),
                   coalesce(sum(o.score) FILTER (WHERE o.status <> %(pending)s), 0)
              FROM {source}
              JOIN {accounts} a ON a.id = o.account_id
             WHERE {where} AND o.deleted_at IS NULL
             GROUP BY 1, 2, 3, 4
            ON CONFLICT (day, action_type_id, clone_id, owner_id) DO UPDATE SET
                outcomes = EXCLUDED.outcomes,
                decided = EXCLUDED.decided,
                succeeded = EXCLUDED.succeeded,
                score_sum = EXCLUDED.score_sum
            RETURNING id
        ), stale AS (
            DELETE FROM {daily}
             WHERE {in_range} AND id NOT IN (SELECT id FROM upserted)
        )
        SELECT count(*) FROM upserted
    """
    with transaction.atomic(), connection.cursor() as cursor:
        _outcome_daily_lock(cursor)
        cursor.execute(statement, {**params, **_STATUSES})
        return cursor.fetchone()[0]


def outcome_daily_refresh_recent() -> int:
    """The job's share: the last 35 days, and older days that got back-filled records.

    One transaction, so the organisation's lock is held across both parts.
    """
    now = timezone.now()
    since = (now - timedelta(days=RECENT_DAYS)).astimezone(UTC).date()
    since_moment = datetime.combine(since, time.min, tzinfo=UTC)
    backfilled = list(
        OutcomeRecord.objects.filter(
            created_at__gte=now - timedelta(hours=1), occurred_at__lt=since_moment
        )
        .annotate(day=TruncDate("occurred_at", tzinfo=UTC))
        .order_by("day")
        .values_list("day", flat=True)
        .distinct()
    )
    with transaction.atomic():
        written = outcome_daily_refresh(since=since)
        if backfilled:
            written += outcome_daily_refresh(days=backfilled)
    return written


def outcome_daily_refresh_today() -> int:
    """Today's rows only (a few thousand outcomes at most): the dashboards' "refresh now"."""
    return outcome_daily_refresh(days=[timezone.now().astimezone(UTC).date()])


def dashboard_numbers(
    kind: str,
    period: Period,
    build: Callable[[], dict],
    *,
    scope: str = "org",
    refresh: bool = False,
) -> dict:
    """A dashboard's numbers from the 5-minute cache. "Refresh now" first recounts today's
    outcomes (earlier days follow the refresh_analytics job), then rebuilds the entry."""
    if refresh:
        outcome_daily_refresh_today()
    return cached(cache_key(kind, period, scope), build, refresh=refresh)


def rep_dashboard_numbers(rep: User | None, period: Period, *, refresh: bool = False) -> dict:
    """The rep dashboard's numbers for ``rep`` (``None``: every account), cached per rep."""
    return dashboard_numbers(
        "rep",
        period,
        lambda: rep_dashboard_data(rep, period),
        scope=f"user-{rep.pk}" if rep is not None else "all",
        refresh=refresh,
    )
