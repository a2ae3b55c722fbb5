"""Calibration: the ten reliability bins of each action type, recomputed in one statement.

Deleted outcomes do not count; a late correction counts from the next run on.
"""

from __future__ import annotations

from django.db import connection, transaction
from django.utils import timezone

from apps.outcomes.models import (
    CALIBRATION_BINS,
    ActionType,
    CalibrationBin,
    OutcomeRecord,
    OutcomeStatus,
)
from apps.outcomes.services.resolution import _no_jit

_RECALIBRATE = f"""
WITH decided AS (
    SELECT action_type_id,
           LEAST(FLOOR(predicted_confidence * {CALIBRATION_BINS})::int, {CALIBRATION_BINS - 1})
               AS bin_index,
           predicted_confidence AS predicted, score AS actual
    FROM {OutcomeRecord._meta.db_table}
    WHERE status IN (%(resolved)s, %(expired)s) AND deleted_at IS NULL
      AND (%(type)s::bigint IS NULL OR action_type_id = %(type)s)
),
aggregated AS (
    SELECT action_type_id, bin_index, COUNT(*) AS n,
           ROUND(AVG(predicted)::numeric, 12)::float8 AS mean_predicted,
           ROUND(AVG(actual)::numeric, 12)::float8 AS mean_actual,
           ROUND(SUM((predicted - actual) ^ 2)::numeric, 12)::float8 AS sse
    FROM decided GROUP BY action_type_id, bin_index
),
grid AS (
    SELECT a.id AS action_type_id, g.bin_index
    FROM {ActionType._meta.db_table} a CROSS JOIN generate_series(0, {CALIBRATION_BINS - 1}) AS g(bin_index)
    WHERE %(type)s::bigint IS NULL OR a.id = %(type)s
)
INSERT INTO {CalibrationBin._meta.db_table} AS bin (
    action_type_id, bin_index, lower, upper, count, mean_predicted, mean_actual,
    sum_squared_error, updated_at
)
SELECT grid.action_type_id, grid.bin_index,
       grid.bin_index::float8 / {CALIBRATION_BINS}, (grid.bin_index + 1)::float8 / {CALIBRATION_BINS},
       COALESCE(aggregated.n, 0), aggregated.mean_predicted, aggregated.mean_actual,
       COALESCE(aggregated.sse, 0), %(now)s
FROM grid LEFT JOIN aggregated USING (action_type_id, bin_index)
ON CONFLICT (action_type_id, bin_index) DO UPDATE
SET count = EXCLUDED.count, mean_predicted = EXCLUDED.mean_predicted,
    mean_actual = EXCLUDED.mean_actual, sum_squared_error = EXCLUDED.sum_squared_error,
    updated_at = EXCLUDED.updated_at
WHERE (bin.count, bin.mean_predicted, bin.mean_actual, bin.sum_squared_error)
      IS DISTINCT FROM
      (EXCLUDED.count, EXCLUDED.mean_predicted, EXCLUDED.mean_actual, EXCLUDED.sum_squared_error)
"""


@transaction.atomic
def calibration_recompute(*, action_type: ActionType | None = None) -> int:
    """Recompute the ten bins of one action type (or all) from decided outcomes.

    One INSERT … ON CONFLICT UPDATE; a bin is rewritten (and its ``updated_at`` moved)
    only when its numbers changed. Returns how many bins changed.
    """
    params = {
        "type": action_type.pk if action_type else None,
        "now": timezone.now(),
        "resolved": OutcomeStatus.RESOLVED.value,
        "expired": OutcomeStatus.EXPIRED.value,
    }
    with connection.cursor() as cursor:
        _no_jit(cursor)
        cursor.execute(_RECALIBRATE, params)
        return cursor.rowcount
