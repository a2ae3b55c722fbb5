"""Demo data for the dashboards: nothing of their own but the pattern-analytics rollup.

Runs last (after every domain app has seeded), so the rollup covers the demo outcomes and
ratings; refreshing is idempotent.
"""

from __future__ import annotations

from apps.dashboards.services import pattern_rollup_refresh


def planned_steps(ctx) -> int:
    return 1


def seed(ctx) -> None:
    pattern_rollup_refresh()
    ctx.step()
