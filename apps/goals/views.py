"""A goal's page: progress, status, and its performance snapshots drawn against the target."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from apps.goals.charts import goal_figure, goal_progress_chart
from apps.goals.selectors import goals_history, goals_visible_to
from apps.users.permissions import capability_required


@require_GET
@capability_required("goals.read")
def detail(request: HttpRequest, goal_id: int) -> HttpResponse:
    goal = get_object_or_404(goals_visible_to(request.user), pk=goal_id)
    today = timezone.now().date()
    history = goals_history([goal], today=today)[goal.pk]
    target = float(goal.target)
    context = {
        "goal": goal,
        "history": [
            {**point, "figure": goal_figure(point["value"], goal.goal_type)}
            for point in reversed(history)
        ],
        "chart": goal_progress_chart(
            history,
            name=goal.name,
            goal_type=goal.goal_type,
            target=target,
            start=goal.period_start,
            end=goal.period_end,
        ),
        "current": goal_figure(float(goal.current_value), goal.goal_type),
        "target": goal_figure(target, goal.goal_type),
        "days_left": max(0, (goal.period_end - today).days),
    }
    return render(request, "goals/detail.html", context)
