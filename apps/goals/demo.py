"""Demo goals: one of each type for the team, some per rep and clone, some already decided."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from apps.agents.demo import demo_clones_ensure
from apps.goals.models import Goal
from apps.goals.services import goal_create, goals_progress_refresh, performance_snapshots_write

SNAPSHOT_DAYS = 30


def planned_steps(ctx) -> int:
    return 1 + SNAPSHOT_DAYS


def _goals(ctx) -> list[dict]:
    today = ctx.now.date()
    month_start = today.replace(day=1)
    next_month = (month_start + timedelta(days=32)).replace(day=1)
    month_end = next_month - timedelta(days=1)
    last_month_end = month_start - timedelta(days=1)
    last_month_start = last_month_end.replace(day=1)
    quarter_start = today.replace(month=(today.month - 1) // 3 * 3 + 1, day=1)
    quarter_end = (quarter_start + timedelta(days=93)).replace(day=1) - timedelta(days=1)
    clones = demo_clones_ensure(ctx)
    reps = ctx.reps
    goals = [
        dict(
            name="Team pipeline this month",
            goal_type="pipeline",
            target="2000000",
            period_start=month_start,
            period_end=month_end,
        ),
        dict(
            name="Team revenue this quarter",
            goal_type="revenue",
            target="500000",
            period_start=quarter_start,
            period_end=quarter_end,
        ),
        dict(
            name="Agent actions this month",
            goal_type="activity",
            target="150",
            period_start=month_start,
            period_end=month_end,
        ),
        dict(
            name="Positive outcome rate this month",
            goal_type="quality",
            target="60",
            period_start=month_start,
            period_end=month_end,
        ),
        # Decided already: small targets reached last month, and a stretch goal missed.
        dict(
            name="Agent actions last month",
            goal_type="activity",
            target="20",
            period_start=last_month_start,
            period_end=last_month_end,
        ),
        dict(
            name="Revenue stretch last month",
            goal_type="revenue",
            target="5000000",
            period_start=last_month_start,
            period_end=last_month_end,
        ),
    ]
    if clones:
        goals.append(
            dict(
                name=f"{clones[0].name}: 70% positive outcomes",
                goal_type="quality",
                target="70",
                period_start=month_start,
                period_end=month_end,
                clone=clones[0],
            )
        )
        goals.append(
            dict(
                name=f"{clones[-1].name}: 30 actions this month",
                goal_type="activity",
                target="30",
                period_start=month_start,
                period_end=month_end,
                clone=clones[-1],
            )
        )
    for rep in reps:
        goals.append(
            dict(
                name=f"{rep.first_name or rep.username}: pipeline this quarter",
                goal_type="pipeline",
                target="1000000",
                period_start=quarter_start,
                period_end=quarter_end,
                owner=rep,
            )
        )
    return goals


def seed(ctx) -> None:
    existing = set(Goal.objects.values_list("name", flat=True))
    for spec in _goals(ctx):
        if spec["name"] in existing:
            continue
        goal_create(**{**spec, "target": Decimal(spec["target"])})
    goals_progress_refresh(today=ctx.now.date())
    ctx.step()
    today = ctx.now.date()
    for days_ago in range(SNAPSHOT_DAYS):
        performance_snapshots_write(day=today - timedelta(days=days_ago))
        ctx.step()
