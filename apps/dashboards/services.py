"""The one write of the dashboards app: refreshing the pattern-analytics rollup."""

from __future__ import annotations

from django.apps import apps
from django.db import connection, transaction
from django.utils import timezone

from apps.dashboards.models import PatternRollup
from apps.outcomes.models import ActionType, OutcomeRecord

_FEEDBACK_FIELDS = {"outcome", "kind", "rating", "likelihood_to_reuse", "would_recommend"}


def _feedback_table() -> str | None:
    """The feedback table when the feedback app provides the detailed-rating fields."""
    try:
        model = apps.get_model("feedback", "FeedbackEntry")
    except LookupError:
        return None
    names = {field.name for field in model._meta.get_fields()}
    return model._meta.db_table if _FEEDBACK_FIELDS <= names else None


def pattern_rollup_refresh() -> int:
    """Recompute every action type's pattern analytics in one statement; returns the rows.

    Per action type: totals, actions in the last 7 and 30 days, decided and succeeded
    (resolved) outcomes, success rate and mean score, and from detailed (1-5) feedback the
    mean satisfaction, mean likelihood to reuse (1-10) and how many would recommend.
    """
    feedback = _feedback_table()
    if feedback:
        feedback_join = f"""
        LEFT JOIN (
            SELECT o.action_type_id,
                   count(*) AS ratings,
                   avg(f.rating)::float AS mean_satisfaction,
                   avg(f.likelihood_to_reuse)::float AS mean_reuse,
                   count(*) FILTER (WHERE f.would_recommend) AS recommend
              FROM {feedback} f
              JOIN {OutcomeRecord._meta.db_table} o ON o.id = f.outcome_id
             WHERE f.kind = 'dashboard'
             GROUP BY o.action_type_id
        ) fb ON fb.action_type_id = t.id"""
        feedback_columns = "coalesce(fb.ratings, 0), fb.mean_satisfaction, fb.mean_reuse, coalesce(fb.recommend, 0)"
    else:
        feedback_join = ""
        feedback_columns = "0, NULL, NULL, 0"
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
               {feedback_columns},
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
        cursor.execute(sql, {"now": timezone.now()})
        return cursor.rowcount
