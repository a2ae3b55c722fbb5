"""A goal's progress drawn against its target: server-rendered SVG, no JavaScript.

The same look as the dashboards' charts (``svg.chart`` styles): every mark has a
``<title>`` with its exact figure and the chart has ``role="img"`` and a summary label.
Kept here rather than in ``apps.dashboards.charts`` because goal pages may not import the
dashboards app (imports flow towards dashboards, never back).
"""

from __future__ import annotations

import math
from datetime import date

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

LEFT, RIGHT, TOP, BOTTOM = 72, 16, 16, 32


def goal_figure(value: float, goal_type: str) -> str:
    """``$12.5k`` for money, ``64%`` for quality, ``23`` for activity."""
    if goal_type == "quality":
        return f"{value:.0f}%"
    if goal_type in ("pipeline", "revenue"):
        if abs(value) >= 1_000_000:
            return f"${value / 1_000_000:.1f}M"
        if abs(value) >= 10_000:
            return f"${value / 1000:.0f}k"
        return f"${value:,.0f}"
    return f"{value:,.0f}"


def _axis(value: float) -> tuple[float, int]:
    """An axis top and tick count for ``value``: the smallest step of 1, 2 or 5 × 10^n that
    reaches it in at most five ticks."""
    if value <= 0:
        return 4.0, 4
    magnitude = 10 ** math.floor(math.log10(value / 5)) if value >= 5 else 1
    for multiple in (1, 2, 5, 10, 20):
        step = multiple * magnitude
        ticks = math.ceil(value / step)
        if ticks <= 5:
            return step * max(ticks, 2), max(ticks, 2)
    return value, 1


def goal_progress_chart(
    history: list[dict],
    *,
    name: str,
    goal_type: str,
    target: float,
    start: date,
    end: date,
    width: int = 960,
    height: int = 280,
) -> SafeString:
    """The running value per day (a line, from the snapshots) across the goal's whole period,
    a dashed line at the target and a faint line for the even pace from 0 to the target."""
    plot_width, plot_height = width - LEFT - RIGHT, height - TOP - BOTTOM
    span = max(1, (end - start).days)
    top, ticks = _axis(max([target, *(point["value"] for point in history)]) * 1.05)

    def x_of(day: date) -> float:
        return LEFT + plot_width * min(1.0, max(0.0, (day - start).days / span))

    def y_of(value: float) -> float:
        return TOP + plot_height * (1 - value / top)

    body = []
    for step in range(ticks + 1):
        value = top * step / ticks
        y = y_of(value)
        body.append(
            f'<line class="grid" x1="{LEFT}" x2="{width - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>'
        )
        body.append(
            f'<text class="y-label" x="{LEFT - 8}" y="{y + 4:.1f}" text-anchor="end">'
            f"{escape(goal_figure(value, goal_type))}</text>"
        )
    body.append(
        f'<line class="pace" x1="{x_of(start):.1f}" y1="{y_of(0):.1f}" '
        f'x2="{x_of(end):.1f}" y2="{y_of(target):.1f}"><title>Even pace to the target</title></line>'
    )
    target_label = f"Target {goal_figure(target, goal_type)}"
    body.append(
        f'<line class="target" x1="{LEFT}" x2="{width - RIGHT}" y1="{y_of(target):.1f}" '
        f'y2="{y_of(target):.1f}"><title>{escape(target_label)}</title></line>'
    )
    body.append(
        f'<text class="target-label" x="{width - RIGHT - 4}" y="{y_of(target) - 6:.1f}" '
        f'text-anchor="end">{escape(target_label)}</text>'
    )
    points = [(date.fromisoformat(p["day"]), p["value"]) for p in history]
    if len(points) > 1:
        path = " ".join(f"{x_of(day):.1f},{y_of(value):.1f}" for day, value in points)
        body.append(f'<polyline class="line progress-line" points="{path}"/>')
    radius = 3 if len(points) <= 20 else 1.8  # a quarter of daily dots would blur the line
    for day, value in points:
        tip = f"{day:%d %b}: {goal_figure(value, goal_type)} of {goal_figure(target, goal_type)}"
        body.append(
            f'<circle class="dot" cx="{x_of(day):.1f}" cy="{y_of(value):.1f}" r="{radius}">'
            f"<title>{escape(tip)}</title></circle>"
        )
    body.append(
        f'<line class="axis" x1="{LEFT}" x2="{width - RIGHT}" y1="{TOP + plot_height}" '
        f'y2="{TOP + plot_height}"/>'
    )
    for day, anchor in ((start, "start"), (start + (end - start) / 2, "middle"), (end, "end")):
        body.append(
            f'<text class="x-label" x="{x_of(day):.1f}" y="{height - 8}" text-anchor="{anchor}">'
            f"{day:%d %b}</text>"
        )
    if points:
        latest_day, latest = points[-1]
        summary = (
            f"{name}: {goal_figure(latest, goal_type)} on {latest_day:%d %b} against a target "
            f"of {goal_figure(target, goal_type)} by {end:%d %b %Y}"
        )
    else:
        summary = f"{name}: no performance snapshots yet; target {goal_figure(target, goal_type)}"
    return mark_safe(  # noqa: S308 - every text above went through escape()
        f'<svg class="chart goal-chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(summary)}" preserveAspectRatio="xMidYMid meet">'
        + "".join(body)
        + "</svg>"
    )
