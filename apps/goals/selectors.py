"""Reads for goals: progress computed from the data, set-based, and which goals a user sees.

Scope of a goal: with a clone, outcomes are the clone's and deals are on accounts of the
clone's owner; with only an owner, outcomes are those of the owner's clones and deals
those on the owner's accounts; with neither, the whole organisation counts.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db.models import (
    DecimalField,
    Expression,
    F,
    Func,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce

from apps.agents.models import Clone
from apps.crm.models import CLOSED_STAGES, Account, Deal, DealStage
from apps.goals.models import Goal, GoalType, PerformanceSnapshot
from apps.outcomes.models import DECIDED_STATUSES, OutcomeRecord
from apps.users.roles import can, sees_only_own
from apps.web.replica import read_connection

POSITIVE_SCORE = 0.5
_MONEY = DecimalField(max_digits=14, decimal_places=2)


def sum_of(queryset, field: str) -> Expression:
    """SUM of a field over a correlated subquery, 0 when there are no rows."""
    total = queryset.order_by().annotate(total=Func(F(field), function="SUM")).values("total")
    return Coalesce(Subquery(total, output_field=_MONEY), Value(Decimal("0")), output_field=_MONEY)


def count_of(queryset) -> Expression:
    counted = queryset.order_by().annotate(n=Func(F("pk"), function="COUNT")).values("n")
    return Coalesce(Subquery(counted), Value(0))


# The tables the statements below read, named by the models (the clones keep the table they
# had in apps.personas), so a rename cannot break a statement.
_TABLES = {
    "goals": Goal._meta.db_table,
    "snapshots": PerformanceSnapshot._meta.db_table,
    "clones": Clone._meta.db_table,
    "outcomes": OutcomeRecord._meta.db_table,
    "deals": Deal._meta.db_table,
    "accounts": Account._meta.db_table,
}

# The goal types the statements below measure by, as parameters.
_GOAL_TYPES = {
    "pipeline": GoalType.PIPELINE.value,
    "activity": GoalType.ACTIVITY.value,
    "quality": GoalType.QUALITY.value,
    "revenue": GoalType.REVENUE.value,
}

# Progress of many goals in one statement. Each source is first rolled up per day (and
# clone or account owner) over the span of all the goals, in one range scan using the
# occurred_at / created_at / closed_at indexes; each goal then sums its days of that small
# rollup. Cost grows with rows in the span plus goals × rollup rows, not goals × rows.
_MEASURE_SQL = """
WITH goal AS (
    SELECT g.id, g.goal_type, g.period_start, g.period_end, g.clone_id, g.owner_id,
           COALESCE(g.owner_id, c.owner_id) AS deal_owner_id
    FROM {goals} g LEFT JOIN {clones} c ON c.id = g.clone_id
    WHERE g.id = ANY(%(ids)s)
),
span AS (
    SELECT (MIN(period_start)::timestamp AT TIME ZONE 'UTC') AS starts,
           ((MAX(period_end) + 1)::timestamp AT TIME ZONE 'UTC') AS ends
    FROM goal
),
outcome_day AS MATERIALIZED (
    SELECT o.clone_id, cl.owner_id AS clone_owner_id,
           (o.occurred_at AT TIME ZONE 'UTC')::date AS day,
           COUNT(*) AS actions,
           COUNT(*) FILTER (WHERE o.status = ANY(%(decided)s)) AS decided,
           COUNT(*) FILTER (WHERE o.status = ANY(%(decided)s) AND o.score >= %(positive)s)
               AS positive
    FROM span, {outcomes} o LEFT JOIN {clones} cl ON cl.id = o.clone_id
    WHERE o.occurred_at >= span.starts AND o.occurred_at < span.ends AND o.deleted_at IS NULL
    GROUP BY 1, 2, 3
),
open_deal_day AS MATERIALIZED (
    SELECT a.owner_id, (d.created_at AT TIME ZONE 'UTC')::date AS day, SUM(d.amount) AS value
    FROM span, {deals} d JOIN {accounts} a ON a.id = d.account_id
    WHERE d.created_at >= span.starts AND d.created_at < span.ends
      AND NOT (d.stage = ANY(%(closed)s))
    GROUP BY 1, 2
),
won_deal_day AS MATERIALIZED (
    SELECT a.owner_id, (d.closed_at AT TIME ZONE 'UTC')::date AS day, SUM(d.amount) AS value
    FROM span, {deals} d JOIN {accounts} a ON a.id = d.account_id
    WHERE d.closed_at >= span.starts AND d.closed_at < span.ends AND d.stage = %(won)s
    GROUP BY 1, 2
),
outcome_total AS (
    SELECT goal.id,
           COALESCE(SUM(od.actions), 0) AS actions,
           COALESCE(SUM(od.decided), 0) AS decided,
           COALESCE(SUM(od.positive), 0) AS positive
    FROM goal LEFT JOIN outcome_day od
      ON od.day BETWEEN goal.period_start AND goal.period_end
     AND (od.clone_id = goal.clone_id
          OR (goal.clone_id IS NULL
              AND (goal.owner_id IS NULL OR od.clone_owner_id = goal.owner_id)))
    WHERE goal.goal_type IN (%(activity)s, %(quality)s)
    GROUP BY goal.id
),
deal_total AS (
    SELECT goal.id,
           COALESCE((SELECT SUM(dd.value) FROM open_deal_day dd
                     WHERE dd.day BETWEEN goal.period_start AND goal.period_end
                       AND (goal.deal_owner_id IS NULL OR dd.owner_id = goal.deal_owner_id)), 0)
               AS open_value,
           COALESCE((SELECT SUM(wd.value) FROM won_deal_day wd
                     WHERE wd.day BETWEEN goal.period_start AND goal.period_end
                       AND (goal.deal_owner_id IS NULL OR wd.owner_id = goal.deal_owner_id)), 0)
               AS won_value
    FROM goal
    WHERE goal.goal_type IN (%(pipeline)s, %(revenue)s)
)
SELECT goal.id,
       ROUND(CASE goal.goal_type
           WHEN %(pipeline)s THEN deal_total.open_value
           WHEN %(revenue)s THEN deal_total.won_value
           WHEN %(activity)s THEN outcome_total.actions
           WHEN %(quality)s THEN COALESCE(
               outcome_total.positive * 100.0 / NULLIF(outcome_total.decided, 0), 0)
           ELSE 0
       END, 2)::numeric(14, 2) AS measured
FROM goal
LEFT JOIN outcome_total ON outcome_total.id = goal.id
LEFT JOIN deal_total ON deal_total.id = goal.id
"""


def goals_measured(goals: QuerySet[Goal]) -> list[tuple[int, Decimal]]:
    """(goal id, value computed from the data now) for each goal, in one statement.

    pipeline: value of open deals created in the period; revenue: value of deals won in
    the period; activity: agent actions in the period; quality: % of the period's decided
    actions (resolved or expired) with score ≥ 0.5 (0 when none was decided).
    """
    ids = list(goals.values_list("pk", flat=True))
    if not ids:
        return []
    with read_connection().cursor() as cursor:
        cursor.execute(
            _MEASURE_SQL.format(**_TABLES),
            {
                **_GOAL_TYPES,
                "ids": ids,
                "decided": DECIDED_STATUSES,
                "positive": POSITIVE_SCORE,
                "closed": sorted(str(stage) for stage in CLOSED_STAGES),
                "won": str(DealStage.CLOSED_WON),
            },
        )
        return [(pk, Decimal(value)) for pk, value in cursor.fetchall()]


def goals_visible_to(user) -> QuerySet[Goal]:
    """Reps see team goals and their own (or their clones'); other readers see all."""
    goals = Goal.objects.select_related("clone", "owner")
    if not can(user, "goals.read"):
        return goals.none()
    if sees_only_own(user):
        return goals.filter(
            Q(owner=user) | Q(clone__owner=user) | Q(owner__isnull=True, clone__isnull=True)
        )
    return goals


def goals_for_dashboard(user, *, today: date) -> QuerySet[Goal]:
    """Goals running today that the user sees, nearest deadline first (for dashboards)."""
    return goals_visible_to(user).filter(period_start__lte=today, period_end__gte=today)


# The snapshot history of many goals in one statement: for each goal, each day of its period
# (up to today) that has snapshots, the running total from the period's start, measured the
# goal's way. Activity and quality add up the clones in scope; pipeline and revenue are
# figures of the clone owner's accounts, the same for every clone of one owner, so each
# owner counts once per day (max over their clones), then owners add up.
_HISTORY_SQL = """
WITH goal AS (
    SELECT id, goal_type, period_start, LEAST(period_end, %(today)s::date) AS last_day,
           clone_id, owner_id
    FROM {goals} WHERE id = ANY(%(ids)s)
),
snap AS (
    SELECT s.day, s.clone_id, c.owner_id, s.pipeline_value, s.activity_count,
           s.decided_count, s.positive_count, s.revenue_value
    FROM {snapshots} s JOIN {clones} c ON c.id = s.clone_id
    WHERE s.day >= (SELECT min(period_start) FROM goal)
      AND s.day <= (SELECT max(last_day) FROM goal)
),
in_scope AS (
    SELECT goal.id AS goal_id, goal.goal_type, snap.*
    FROM goal JOIN snap
      ON snap.day BETWEEN goal.period_start AND goal.last_day
     AND (snap.clone_id = goal.clone_id
          OR (goal.clone_id IS NULL
              AND (goal.owner_id IS NULL OR snap.owner_id = goal.owner_id)))
),
per_owner AS (
    SELECT goal_id, day, owner_id, max(pipeline_value) AS pipeline, max(revenue_value) AS revenue
    FROM in_scope GROUP BY goal_id, day, owner_id
),
per_day AS (
    SELECT i.goal_id, i.goal_type, i.day,
           sum(i.activity_count) AS activity, sum(i.decided_count) AS decided,
           sum(i.positive_count) AS positive,
           (SELECT sum(o.pipeline) FROM per_owner o
             WHERE o.goal_id = i.goal_id AND o.day = i.day) AS pipeline,
           (SELECT sum(o.revenue) FROM per_owner o
             WHERE o.goal_id = i.goal_id AND o.day = i.day) AS revenue
    FROM in_scope i GROUP BY i.goal_id, i.goal_type, i.day
),
running AS (
    SELECT goal_id, goal_type, day,
           sum(activity) OVER w AS activity, sum(decided) OVER w AS decided,
           sum(positive) OVER w AS positive, sum(pipeline) OVER w AS pipeline,
           sum(revenue) OVER w AS revenue
    FROM per_day
    WINDOW w AS (PARTITION BY goal_id ORDER BY day)
)
SELECT goal_id, day,
       ROUND(CASE goal_type
           WHEN %(pipeline)s THEN pipeline
           WHEN %(revenue)s THEN revenue
           WHEN %(activity)s THEN activity
           WHEN %(quality)s THEN COALESCE(positive * 100.0 / NULLIF(decided, 0), 0)
           ELSE 0
       END, 2)::numeric(14, 2) AS value
FROM running ORDER BY goal_id, day
"""


def goals_history(goals: list[Goal], *, today: date) -> dict[int, list[dict]]:
    """Each goal's progress per day from its performance snapshots, as
    ``{goal id: [{"day": "2026-11-03", "value": 12.0}, …]}`` (one query for all goals)."""
    ids = [goal.pk for goal in goals]
    history: dict[int, list[dict]] = {pk: [] for pk in ids}
    if not ids:
        return history
    with read_connection().cursor() as cursor:
        cursor.execute(_HISTORY_SQL.format(**_TABLES), {**_GOAL_TYPES, "ids": ids, "today": today})
        for goal_id, day, value in cursor.fetchall():
            history[goal_id].append({"day": day.isoformat(), "value": float(value)})
    return history
