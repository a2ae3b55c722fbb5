from datetime import timedelta

from django.db.models import Q

from apps.agents.models import Clone
from apps.goals.models import Goal, GoalStatus
from apps.goals.services import goals_hourly_update
from apps.tenancy.periodic import any_row, periodic_job


# Active goals are re-measured (and missed when their period ends) and active clones get a
# snapshot per day, each hour: the clock moves both, so only an organisation with neither
# is idle.
@periodic_job(
    every=timedelta(hours=1),
    has_work=lambda since, now: (
        Q(any_row(Goal, status=GoalStatus.ACTIVE)) | Q(any_row(Clone, is_active=True))
    ),
)
def update_goal_progress() -> str:
    """Recompute goal progress and statuses; keep today's and yesterday's clone snapshots."""
    return goals_hourly_update()
