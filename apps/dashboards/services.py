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
from apps.dashboards.selectors import cache_key, cached
from apps.feedback.models import FeedbackEntry, FeedbackKind
from apps.outcomes.models import ActionType, OutcomeRecord


def pattern_rollup_refresh() -> int:
    """Recompute every action type's pattern analytics in one statement; returns the rows.

    Per action type: totals, actions in the last 7 and 30 days, decided and succeeded
    (resolved) outcomes, success rate and mean score, and from detailed (1-5) feedback the
    mean satisfaction, mean likelihood to reuse (1-10) and how many would recommend.
    """
    feedback_join = f"""
        LEFT JOIN (
            SELECT o.action_type_id,
                   count(*) AS ratings,
                   avg(f.rating)::float AS mean_satisfaction,
                   avg(f.likelihood_to_reuse)::float AS mean_reuse,
                   count(*) FILTER (WHERE f.would_recommend) AS recommend
              FROM {FeedbackEntry._meta.db_table} f
              JOIN {OutcomeRecord._meta.db_table} o ON o.id = f.outcome_id
             WHERE f.kind = %(detailed)s
             GROUP BY o.action_type_id
        ) fb ON fb.action_type_id = t.id"""
    sql = f"""
        INSERT INTO {PatternRollup._meta.db_table} (
            action_type_id, total, last_7_days, last_30_days, decided, succeeded,
            success_rate, mean_score, ratings, mean_satisfaction, mean_likelihood_to_reuse,
            would_recommend, refreshed_at)
        SELECT t.id,
               coalesce(oc.total, 0), coalesce(oc.last_7, 0), coalesce(oc.last_30, 0),
               coalesce(oc.decided, 0), coalesce(oc.succeeded, 0),
               oc.succeeded::float / nullif(oc.decided, 0),
               oc.score_sum / nullif(oc.decided, 0),
               coalesce(fb.ratings, 0), fb.mean_satisfaction, fb.mean_reuse,
               coalesce(fb.recommend, 0),
               %(now)s
          FROM {ActionType._meta.db_table} t
          LEFT JOIN (
            SELECT action_type_id,
                   count(*) AS total,
                   count(*) FILTER (WHERE occurred_at >= %(now)s - interval '7 days') AS last_7,
                   count(*) FILTER (WHERE occurred_at >= %(now)s - interval '30 days') AS last_30,
                   count(*) FILTER (WHERE status <> 'pending') AS decided,
                   count(*) FILTER (WHERE status = 'resolved') AS succeeded,
                   sum(score) FILTER (WHERE status <> 'pending') AS score_sum
              FROM {OutcomeRecord._meta.db_table}
             GROUP BY action_type_id
          ) oc ON oc.action_type_id = t.id
          {feedback_join}
        ON CONFLICT (action_type_id) DO UPDATE SET
            total = EXCLUDED.total,
            last_7_days = EXCLUDED.last_7_days,
            last_30_days = EXCLUDED.last_30_days,
            decided = EXCLUDED.decided,
            succeeded = EXCLUDED.succeeded,
            success_rate = EXCLUDED.success_rate,
            mean_score = EXCLUDED.mean_score,
            ratings = EXCLUDED.ratings,
            mean_satisfaction = EXCLUDED.mean_satisfaction,
            mean_likelihood_to_reuse = EXCLUDED.mean_likelihood_to_reuse,
            would_recommend = EXCLUDED.would_recommend,
            refreshed_at = EXCLUDED.refreshed_at
    """
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, {"now": timezone.now(), "detailed": FeedbackKind.DASHBOARD.value})
        return cursor.rowcount


RECENT_DAYS = 35  # longer than every action window (30 days), so late resolutions land


def outcome_daily_refresh(*, since: date | None = None, days: list[date] | None = None) -> int:
    """Recompute the daily outcome counts from ``since`` (all history when neither is given)
    or for exactly ``days``; one DELETE and one INSERT … SELECT … GROUP BY, in a transaction.

    Returns the number of daily rows written.
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
        delete = f"DELETE FROM {daily} WHERE day = ANY(%(days)s)"
    elif since is not None:
        moment = datetime.combine(since, time.min, tzinfo=UTC)
        where, params = "o.occurred_at >= %(moment)s", {"moment": moment, "since": since}
        delete = f"DELETE FROM {daily} WHERE day >= %(since)s"
    else:
        params, delete = {}, f"DELETE FROM {daily}"
    insert = f"""
        INSERT INTO {daily} (day, action_type_id, clone_id, owner_id, outcomes, decided,
                             succeeded, score_sum)
        SELECT (o.occurred_at AT TIME ZONE 'UTC')::date, o.action_type_id, o.clone_id,
               a.owner_id, count(*),
               count(*) FILTER (WHERE o.status <> 'pending'),
               count(*) FILTER (WHERE o.status = 'resolved'),
               coalesce(sum(o.score) FILTER (WHERE o.status <> 'pending'), 0)
          FROM {source}
          JOIN {accounts} a ON a.id = o.account_id
         WHERE {where}
         GROUP BY 1, 2, 3, 4
    """
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(delete, params or None)
        cursor.execute(insert, params or None)
        return cursor.rowcount


def outcome_daily_refresh_recent() -> int:
    """The job's share: the last 35 days, and older days that got back-filled records."""
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
