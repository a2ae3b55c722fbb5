"""The weekly chart of a simulation: loop on against the control, one line each, as SVG.

Drawn on the server in the dashboards' chart style (``svg.chart`` classes of
``dashboards.css``); every point has a ``<title>`` with its number, and the chart an
``aria-label`` that says what it shows.
"""

from __future__ import annotations

import math

from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 48, 16, 14, 34


def weekly_lines(
    weeks: list[dict], *, key: str, label: str, top: float | None = None
) -> SafeString:
    """``weeks[i]["on"][key]`` and ``["off"][key]`` (rates 0-1) by week, on a 0-``top`` axis."""
    values = [w[arm][key] for w in weeks for arm in ("on", "off") if w[arm].get(key) is not None]
    # The axis ends at the next fifth above the highest point (at least 20 %): ticks of 5 %s.
    ceiling = top or max([0.2, *(math.ceil((value + 0.02) * 5) / 5 for value in values)])
    plot_width, plot_height = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_width / max(1, len(weeks))

    def x_of(index: int) -> float:
        return LEFT + slot * (index + 0.5)

    def y_of(value: float) -> float:
        return TOP + plot_height * (1 - min(value, ceiling) / ceiling)

    body = []
    for step in range(5):
        value = ceiling * step / 4
        body.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" '
            f'y1="{y_of(value):.1f}" y2="{y_of(value):.1f}"/>'
            f'<text class="y-label" x="{LEFT - 8}" y="{y_of(value) + 4:.1f}" '
            f'text-anchor="end">{value * 100:.0f}%</text>'
        )
    for arm, name in (("off", "control (loop off)"), ("on", "loop on")):
        points = [
            (x_of(index), y_of(week[arm][key]), week)
            for index, week in enumerate(weeks)
            if week[arm].get(key) is not None
        ]
        if len(points) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y, _ in points)
            body.append(f'<polyline class="sim-line sim-{arm}" points="{path}"/>')
        for x, y, week in points:
            body.append(
                f'<circle class="sim-dot sim-{arm}" cx="{x:.1f}" cy="{y:.1f}" r="4">'
                f"<title>Week {week['week']}, {escape(name)}: "
                f"{week[arm][key] * 100:.1f}% {escape(label.lower())}</title></circle>"
            )
    body.append(
        f'<line class="axis" x1="{LEFT}" x2="{WIDTH - RIGHT}" '
        f'y1="{TOP + plot_height}" y2="{TOP + plot_height}"/>'
    )
    body.extend(
        f'<text class="x-label" x="{x_of(index):.1f}" y="{HEIGHT - 10}" '
        f'text-anchor="middle">W{week["week"]}</text>'
        for index, week in enumerate(weeks)
    )
    summary = f"{label} per simulated week, loop on against the control, over {len(weeks)} weeks"
    marks = mark_safe("".join(body))  # noqa: S308 - every text in it went through escape()
    return format_html(
        '<svg class="chart" viewBox="0 0 {} {}" role="img" aria-label="{}" '
        'preserveAspectRatio="xMidYMid meet">{}</svg>',
        WIDTH,
        HEIGHT,
        summary,
        marks,
    )
