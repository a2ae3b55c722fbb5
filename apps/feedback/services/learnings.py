"""Writes for learnings: record a use, write one, keep or retire it, refresh its scores."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TypedDict, Unpack

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from apps.feedback.models import (
    APPLICATION_POINTS,
    Learning,
    LearningApplication,
    LearningCategory,
)
from apps.feedback.scoring import LIFT_Z, confidence_sql, decay_sql, success_rate_sql
from apps.outcomes.models import DECIDED_STATUSES, ActionType, OutcomeRecord
from apps.users.models import User


class ApplicationDetails(TypedDict, total=False):
    """What a use may say besides its learning, outcome and time; each has a blank default."""

    outcome_record: OutcomeRecord | None
    context: str
    metadata: dict
    applied_by: User | None


@transaction.atomic
def learning_application_record(
    *,
    learning: Learning,
    outcome: str,
    applied_at: datetime | None = None,
    **details: Unpack[ApplicationDetails],
) -> tuple[LearningApplication, Learning]:
    """Record one use of a learning and update its counters and scores together."""
    if outcome not in APPLICATION_POINTS:
        raise ValidationError(
            {"outcome": f"Outcome must be one of: {', '.join(APPLICATION_POINTS)}."}
        )
    now = timezone.now()
    applied_at = applied_at or now
    learning = Learning.objects.select_for_update().get(pk=learning.pk)
    application = LearningApplication.objects.create(
        learning=learning, outcome=outcome, applied_at=applied_at, **details
    )
    learning.application_count += 1
    learning.success_points += APPLICATION_POINTS[outcome]
    learning.last_applied_at = max(filter(None, [learning.last_applied_at, applied_at]))
    if outcome == "success":
        learning.last_success_at = max(filter(None, [learning.last_success_at, applied_at]))
    learning.save(
        update_fields=[
            "application_count",
            "success_points",
            "last_applied_at",
            "last_success_at",
            "updated_at",
        ]
    )
    learnings_refresh_scores(now=now, ids=[learning.pk])
    learning.refresh_from_db()
    return application, learning


def learnings_refresh_scores(*, now: datetime | None = None, ids: list[int] | None = None) -> int:
    """Recompute success_rate, confidence_score and decay_factor in one UPDATE."""
    learnings = Learning.objects.all()
    if ids is not None:
        learnings = learnings.filter(pk__in=ids)
    return learnings.update(
        success_rate=success_rate_sql(),
        confidence_score=confidence_sql(),
        decay_factor=decay_sql(now or timezone.now()),
    )


def learnings_set_active(*, ids: list[int], is_active: bool) -> int:
    """Deactivate (hide from the agent) or reactivate learnings; returns how many."""
    return Learning.objects.filter(pk__in=ids).update(
        is_active=is_active, updated_at=timezone.now()
    )


def learning_set_active(*, learning: Learning, is_active: bool) -> Learning:
    learnings_set_active(ids=[learning.pk], is_active=is_active)
    learning.is_active = is_active
    return learning


def learning_create(
    *,
    title: str,
    guidance: str,
    created_by: User | None,
    category: str = LearningCategory.GENERAL,
    action_type: ActionType | None = None,
    relevance_score: float = 0.5,
) -> Learning:
    """A learning written by a manager. No evidence yet: confidence 0.5 (neutral)."""
    learning = Learning(
        signature=f"manual:{uuid.uuid4().hex}",
        title=(title or "").strip(),
        guidance=(guidance or "").strip(),
        category=category,
        action_type=action_type,
        relevance_score=relevance_score,
        created_by=created_by,
    )
    learning.full_clean(exclude=["signature", "source_outcomes"])
    with transaction.atomic():
        learning.save()
        learnings_refresh_scores(ids=[learning.pk])
    learning.refresh_from_db()
    return learning


def learning_keep(*, learning: Learning, user: User) -> Learning:
    """A manager keeps a hurting learning in the agent's list despite its lift."""
    now = timezone.now()
    Learning.objects.filter(pk=learning.pk).update(kept_at=now, kept_by=user, updated_at=now)
    learning.kept_at, learning.kept_by = now, user
    return learning


def learning_retire(*, learning: Learning) -> Learning:
    """Take a learning out of the agent's list for good (it stays, inactive, for history)."""
    return learning_set_active(learning=learning, is_active=False)


# --- lift -----------------------------------------------------------------------------------

_LEARNING = Learning._meta.db_table
_APPLICATION = LearningApplication._meta.db_table
_OUTCOME = OutcomeRecord._meta.db_table

# SQL because the comparison is one pass over every learning at once: each learning's
# applied outcomes (decided ones, each counted once) are grouped into strata of action type
# and ISO week (UTC); a stratum's control group is every other decided outcome of that type
# in that week, read once per stratum for all learnings (stratum totals minus the
# learning's own). Success = the outcome's score (expired = 0). The interval is
# Agresti–Caffo, like ``scoring.lift_interval``. Learnings with no comparison get NULLs.
# One UPDATE: a refresh is atomic and re-running it gives the same figures.
LIFT_SQL = f"""
WITH applied AS (
    SELECT DISTINCT a.learning_id, o.id AS outcome_id, o.action_type_id, o.score,
           date_trunc('week', o.occurred_at AT TIME ZONE 'UTC') AS week
    FROM {_APPLICATION} a JOIN {_OUTCOME} o ON o.id = a.outcome_record_id
    WHERE o.status = ANY(%(decided)s) AND o.deleted_at IS NULL
), per_stratum AS (
    SELECT learning_id, action_type_id, week, COUNT(*) AS n, SUM(score) AS x
    FROM applied GROUP BY learning_id, action_type_id, week
), strata AS (
    SELECT DISTINCT action_type_id, week FROM per_stratum
), totals AS (
    SELECT s.action_type_id, s.week, COUNT(o.id) AS n, COALESCE(SUM(o.score), 0) AS x
    FROM strata s JOIN {_OUTCOME} o
      ON o.action_type_id = s.action_type_id
     AND o.occurred_at >= s.week AT TIME ZONE 'UTC'
     AND o.occurred_at < (s.week + interval '7 days') AT TIME ZONE 'UTC'
     AND o.status = ANY(%(decided)s) AND o.deleted_at IS NULL
    GROUP BY s.action_type_id, s.week
), groups AS (
    SELECT p.learning_id, SUM(p.n) AS n1, SUM(p.x) AS x1,
           SUM(t.n - p.n) AS n0, SUM(t.x - p.x) AS x0
    FROM per_stratum p JOIN totals t USING (action_type_id, week)
    GROUP BY p.learning_id
), stats AS (
    SELECT learning_id, n1, x1, n0, x0,
           (x1 + 1) / (n1 + 2) AS p1, (x0 + 1) / (n0 + 2) AS p0
    FROM groups
), intervals AS (
    -- No comparable outcome, no comparison: the interval stays NULL, the sizes are kept.
    SELECT learning_id, n1, n0,
           CASE WHEN n0 > 0 THEN x1 / n1 - x0 / n0 END AS lift,
           CASE WHEN n0 > 0 THEN (p1 - p0)
                - %(z)s * sqrt(p1 * (1 - p1) / (n1 + 2) + p0 * (1 - p0) / (n0 + 2)) END AS low,
           CASE WHEN n0 > 0 THEN (p1 - p0)
                + %(z)s * sqrt(p1 * (1 - p1) / (n1 + 2) + p0 * (1 - p0) / (n0 + 2)) END AS high
    FROM stats
), rows AS (
    -- GREATEST and LEAST skip NULLs: clip only an interval that exists.
    SELECT l.id, i.lift,
           CASE WHEN i.low IS NOT NULL THEN GREATEST(-1.0, i.low) END AS low,
           CASE WHEN i.high IS NOT NULL THEN LEAST(1.0, i.high) END AS high,
           COALESCE(i.n1, 0) AS n1, COALESCE(i.n0, 0) AS n0
    FROM {_LEARNING} l LEFT JOIN intervals i ON i.learning_id = l.id
)
UPDATE {_LEARNING} l
SET lift = r.lift, lift_low = r.low, lift_high = r.high,
    lift_sample = r.n1, lift_control_sample = r.n0, lift_computed_at = %(now)s,
    is_hurting = COALESCE(r.high < 0, false)
FROM rows r WHERE r.id = l.id
"""


def learnings_refresh_lift(*, now: datetime | None = None) -> int:
    """Recompute every learning's lift and "hurting" flag in one statement."""
    with connection.cursor() as cursor:
        cursor.execute(
            LIFT_SQL,
            {
                "decided": DECIDED_STATUSES,
                "z": LIFT_Z,
                "now": now or timezone.now(),
            },
        )
        return cursor.rowcount
