"""The arithmetic of learnings, once in Python (for single rows and tests) and once in SQL
(for set-based refreshes). Tests check that both give the same numbers.

- confidence_score: the posterior mean of the success share under a neutral Beta(3, 3)
  prior, (successes + 3) / (trials + 6). With no evidence it is 0.5; evidence moves it, and
  a few trials move it little (the prior weighs as six trials): 1 success of 1 gives 0.57,
  40 of 50 gives 0.77, 0 of 10 gives 0.19. The same share is trusted more the more
  evidence backs it (8 of 10: 0.69; 80 of 100: 0.78).
- decay_factor: 0.5 + 0.5 · 2^(−age / 30 days), age = time since the last success
  (or since extraction when it never succeeded in use): 1.0 fresh, 0.75 after 30 days,
  0.625 after 60, never below 0.5.
- lift: success rate of the outcomes a learning was applied to minus that of comparable
  outcomes it was not applied to, with the 95 % Agresti–Caffo interval (each group's
  share estimated with one success and one failure added, which keeps the interval honest
  on small groups). The SQL is in ``services.LIFT_SQL``; ``lift_interval`` is its twin.
- rank for the agent: relevance × confidence × decay.
"""

from __future__ import annotations

import math
from datetime import datetime

from django.db.models.expressions import RawSQL

from apps.feedback.models import Learning

PRIOR_SUCCESSES = 3.0  # Beta(3, 3): a neutral prior worth six trials
PRIOR_FAILURES = 3.0
LIFT_Z = 1.96  # 95 %
DECAY_HALF_LIFE_DAYS = 30.0
DECAY_FLOOR = 0.5


def confidence(positive: float, total: float) -> float:
    """Posterior mean of the success share after ``positive`` successes in ``total`` trials."""
    return (positive + PRIOR_SUCCESSES) / (total + PRIOR_SUCCESSES + PRIOR_FAILURES)


def lift_interval(
    applied_successes: float, applied: int, control_successes: float, control: int
) -> tuple[float, float, float] | None:
    """(lift, low, high) of the applied group against the control, None when one is empty."""
    if applied <= 0 or control <= 0:
        return None
    lift = applied_successes / applied - control_successes / control
    p1 = (applied_successes + 1) / (applied + 2)
    p0 = (control_successes + 1) / (control + 2)
    margin = LIFT_Z * math.sqrt(p1 * (1 - p1) / (applied + 2) + p0 * (1 - p0) / (control + 2))
    centre = p1 - p0
    return lift, max(-1.0, centre - margin), min(1.0, centre + margin)


def decay_factor(last_success_at: datetime, now: datetime) -> float:
    """0.5 + 0.5 · 2^(−days / 30): halves the part above the floor every 30 days."""
    age_days = max(0.0, (now - last_success_at).total_seconds() / 86400)
    return DECAY_FLOOR + (1 - DECAY_FLOOR) * 2 ** (-age_days / DECAY_HALF_LIFE_DAYS)


_TABLE = f'"{Learning._meta.db_table}"'
_REFERENCE = f"COALESCE({_TABLE}.last_success_at, {_TABLE}.extracted_at, {_TABLE}.created_at)"


def decay_sql(now: datetime) -> RawSQL:
    """decay_factor of each learning row at ``now``, as SQL."""
    return RawSQL(
        f"({DECAY_FLOOR} + {1 - DECAY_FLOOR} * power(2.0, "
        f"-GREATEST(EXTRACT(EPOCH FROM (%s - {_REFERENCE})), 0) / 86400.0 / {DECAY_HALF_LIFE_DAYS}))",
        (now,),
    )


def confidence_sql() -> RawSQL:
    """confidence_score over extraction evidence plus applications, as SQL."""
    positive = f"({_TABLE}.evidence_positive + {_TABLE}.success_points)"
    total = f"({_TABLE}.evidence_total + {_TABLE}.application_count)"
    return RawSQL(
        f"(({positive} + %s) / ({total} + %s + %s))",
        (PRIOR_SUCCESSES, PRIOR_SUCCESSES, PRIOR_FAILURES),
    )


def success_rate_sql() -> RawSQL:
    """Share of successful applications; before the first one, the evidence share."""
    return RawSQL(
        f"CASE WHEN {_TABLE}.application_count > 0 "
        f"THEN {_TABLE}.success_points / {_TABLE}.application_count "
        f"WHEN {_TABLE}.evidence_total > 0 THEN {_TABLE}.evidence_positive / {_TABLE}.evidence_total "
        f"ELSE 1.0 END",
        (),
    )
