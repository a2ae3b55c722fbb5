"""Demo data for the dashboards: nothing of their own but the two summary tables.

Runs last (after every domain app has seeded), so the rollup covers the demo outcomes and
ratings; refreshing is idempotent.
"""

from __future__ import annotations

from apps.dashboards.services import outcome_daily_refresh, pattern_rollup_refresh


def planned_steps(ctx) -> int:
    return 1


def seed(ctx) -> None:
    outcome_daily_refresh()
    pattern_rollup_refresh()
    ctx.step()
