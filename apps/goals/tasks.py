from datetime import timedelta

from apps.goals.services import goals_hourly_update
from apps.tenancy.periodic import periodic_job


@periodic_job("update_goal_progress", every=timedelta(hours=1))
def update_goal_progress() -> str:
    """Recompute goal progress and statuses; keep today's and yesterday's clone snapshots."""
    return goals_hourly_update()
