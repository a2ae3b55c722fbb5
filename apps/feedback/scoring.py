"""The arithmetic of learnings, once in Python (for single rows and tests) and once in SQL
(for set-based refreshes). Tests check that both give the same numbers.

- confidence_score: the lower bound of the 95 % Wilson score interval of the success share,
  so that it grows with evidence: 3 successes out of 3 give 0.44, 30 out of 30 give 0.89.
- decay_factor: 0.5 + 0.5 · 2^(−age / 30 days), age = time since the last success
  (or since extraction when it never succeeded in use): 1.0 fresh, 0.75 after 30 days,
  0.625 after 60, never below 0.5.
- rank for the agent: relevance × confidence × decay.
"""

from __future__ import annotations

import math
from datetime import datetime

from django.db.models.expressions import RawSQL

WILSON_Z = 1.96
DECAY_HALF_LIFE_DAYS = 30.0
DECAY_FLOOR = 0.5


def wilson_lower_bound(positive: float, total: float, z: float = WILSON_Z) -> float:
    """Lower bound of the Wilson score interval for ``positive`` successes in ``total`` trials."""
    if total <= 0:
        return 0.0
    share = positive / total
    z2 = z * z
    centre = share + z2 / (2 * total)
    margin = z * math.sqrt((share * (1 - share) + z2 / (4 * total)) / total)
    return max(0.0, min(1.0, (centre - margin) / (1 + z2 / total)))


def decay_factor(last_success_at: datetime, now: datetime) -> float:
    """0.5 + 0.5 · 2^(−days / 30): halves the part above the floor every 30 days."""
    age_days = max(0.0, (now - last_success_at).total_seconds() / 86400)
    return DECAY_FLOOR + (1 - DECAY_FLOOR) * 2 ** (-age_days / DECAY_HALF_LIFE_DAYS)


_TABLE = '"feedback_learning"'
_REFERENCE = f"COALESCE({_TABLE}.last_success_at, {_TABLE}.extracted_at, {_TABLE}.created_at)"


def decay_sql(now: datetime) -> RawSQL:
    """decay_factor of each learning row at ``now``, as SQL."""
    return RawSQL(
        f"({DECAY_FLOOR} + {1 - DECAY_FLOOR} * power(2.0, "
        f"-GREATEST(EXTRACT(EPOCH FROM (%s - {_REFERENCE})), 0) / 86400.0 / {DECAY_HALF_LIFE_DAYS}))",
        (now,),
    )


def _wilson_sql(positive: str, total: str) -> str:
    z2 = WILSON_Z * WILSON_Z
    p = f"(({positive}) / ({total}))"
    return (
        f"CASE WHEN ({total}) > 0 THEN LEAST(1.0, GREATEST(0.0, "
        f"({p} + {z2} / (2 * ({total})) - {WILSON_Z} * sqrt(({p} * (1 - {p}) + {z2} / (4 * ({total}))) / ({total}))) "
        f"/ (1 + {z2} / ({total})))) ELSE 0.0 END"
    )


def confidence_sql() -> RawSQL:
    """confidence_score over extraction evidence plus applications, as SQL."""
    positive = f"{_TABLE}.evidence_positive + {_TABLE}.success_points"
    total = f"{_TABLE}.evidence_total + {_TABLE}.application_count"
    return RawSQL(_wilson_sql(positive, total), ())


def success_rate_sql() -> RawSQL:
    """Share of successful applications; before the first one, the evidence share."""
    return RawSQL(
        f"CASE WHEN {_TABLE}.application_count > 0 "
        f"THEN {_TABLE}.success_points / {_TABLE}.application_count "
        f"WHEN {_TABLE}.evidence_total > 0 THEN {_TABLE}.evidence_positive / {_TABLE}.evidence_total "
        f"ELSE 1.0 END",
        (),
    )
