"""Server-side SVG charts: no JavaScript library, no CDN, readable on a laptop.

Each function takes the plain data of a selector and returns SVG markup (labels escaped).
Every mark carries a ``<title>`` so that hovering shows the exact number, and the chart
has ``role="img"`` with an ``aria-label`` that summarises it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from apps.tenancy.money import current_currency, format_money

WIDTH, HEIGHT = 1180, 280
LEFT, RIGHT, TOP, BOTTOM = 56, 52, 14, 34


class Series(NamedTuple):
    """One series of a chart: the key of its values in each point, and its name."""

    key: str
    label: str


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f}%"


def count(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f}"


def money(value: float | None) -> str:
    """A headline or axis amount in the organisation's currency, rounded: "$1.2M"."""
    return format_money(value, current_currency(), compact=True)


def _nice_scale(value: float) -> tuple[float, int]:
    """An axis top and tick count for ``value``: the smallest step of 1, 2 or 5 × 10^n
    (at least 1) that needs at most five ticks."""
    if value <= 0:
        return 4, 4
    magnitude = 10 ** max(0, math.floor(math.log10(value / 5)))
    for multiple in (1, 2, 5, 10, 20):
        step = multiple * magnitude
        ticks = math.ceil(value / step)
        if ticks <= 5:
            return step * max(ticks, 2), max(ticks, 2)
    return value, 1  # unreachable: 20 × magnitude always fits


def _svg(body: list[str], label: str, width: int, height: int) -> SafeString:
    return mark_safe(  # noqa: S308 - every text below went through escape()
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(label)}" preserveAspectRatio="xMidYMid meet">'
        + "".join(body)
        + "</svg>"
    )


def _x_labels(
    points: list[dict], x_of: Callable[[int], float], height: int, most: int
) -> list[str]:
    every = max(1, math.ceil(len(points) / most))
    return [
        f'<text class="x-label" x="{x_of(index):.1f}" y="{height - 10}" '
        f'text-anchor="middle">{escape(point["label"])}</text>'
        for index, point in enumerate(points)
        if index % every == 0
    ]


def trend_chart(
    points: list[dict],
    *,
    bar: Series,
    line: Series | None = None,
    overlay: Series | None = None,
    bar_format: Callable[[float | None], str] = count,
    width: int = WIDTH,
    height: int = HEIGHT,
) -> SafeString:
    """Columns for a volume (left axis) and optionally a rate line from 0 to 100 % (right axis).

    ``overlay`` draws a darker column inside each column (a part of the whole, e.g.
    revenue influenced by the agent inside revenue won).
    """
    right = RIGHT if line else 16
    plot_width, plot_height = width - LEFT - right, height - TOP - BOTTOM
    slot = plot_width / max(1, len(points))
    top_value, ticks = _nice_scale(max((p[bar.key] or 0 for p in points), default=0))

    def x_of(index: int) -> float:
        return LEFT + slot * (index + 0.5)

    def y_bar(value: float) -> float:
        return TOP + plot_height * (1 - (value or 0) / top_value)

    def y_rate(value: float) -> float:
        return TOP + plot_height * (1 - value)

    body = []
    for step in range(ticks + 1):
        fraction = step / ticks
        y = TOP + plot_height * (1 - fraction)
        body.append(
            f'<line class="grid" x1="{LEFT}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}"/>'
        )
        body.append(
            f'<text class="y-label" x="{LEFT - 8}" y="{y + 4:.1f}" text-anchor="end">'
            f"{escape(bar_format(top_value * fraction))}</text>"
        )
    if line:  # the rate axis has its own ticks, without gridlines
        for fraction in (0, 0.5, 1):
            body.append(
                f'<text class="y-label rate" x="{width - right + 8}" '
                f'y="{y_rate(fraction) + 4:.1f}">{fraction * 100:.0f}%</text>'
            )
    bar_width = max(2.0, min(34.0, slot * 0.62))
    for index, point in enumerate(points):
        value = point[bar.key] or 0
        y = y_bar(value)
        tip = f"{point['label']}: {bar_format(value)} {bar.label.lower()}"
        if overlay:
            tip += f", {bar_format(point[overlay.key])} {overlay.label.lower()}"
        if line:
            tip += f", {percent(point[line.key])} {line.label.lower()}"
        body.append(
            f'<rect class="bar" x="{x_of(index) - bar_width / 2:.1f}" y="{y:.1f}" '
            f'width="{bar_width:.1f}" height="{TOP + plot_height - y:.1f}" rx="2">'
            f"<title>{escape(tip)}</title></rect>"
        )
        if overlay and point[overlay.key]:
            y2 = y_bar(point[overlay.key])
            body.append(
                f'<rect class="bar overlay" x="{x_of(index) - bar_width / 2:.1f}" y="{y2:.1f}" '
                f'width="{bar_width:.1f}" height="{TOP + plot_height - y2:.1f}" rx="2">'
                f"<title>{escape(tip)}</title></rect>"
            )
    if line:
        segments: list[list[str]] = [[]]
        for index, point in enumerate(points):
            if point[line.key] is None:
                segments.append([])
                continue
            segments[-1].append(f"{x_of(index):.1f},{y_rate(point[line.key]):.1f}")
        for segment in segments:
            if len(segment) > 1:
                body.append(f'<polyline class="line" points="{" ".join(segment)}"/>')
        for index, point in enumerate(points):
            if point[line.key] is not None:
                body.append(
                    f'<circle class="dot" cx="{x_of(index):.1f}" cy="{y_rate(point[line.key]):.1f}" r="3.5">'
                    f"<title>{escape(point['label'])}: {percent(point[line.key])} "
                    f"{escape(line.label.lower())}</title></circle>"
                )
    body.append(
        f'<line class="axis" x1="{LEFT}" x2="{width - right}" '
        f'y1="{TOP + plot_height}" y2="{TOP + plot_height}"/>'
    )
    body.extend(_x_labels(points, x_of, height, max(4, width // 90)))
    summary = f"{bar.label} over {len(points)} periods"
    if line:
        summary += f", with {line.label.lower()}"
    return _svg(body, summary, width, height)


def reliability_plot(bins: list[dict], size: int = 150) -> SafeString:
    """A small reliability diagram: predicted confidence (x) against actual rate (y).

    The dashed diagonal is perfect calibration; each bin with outcomes is a dot whose area
    grows with its count. Dots under the line mean the agent was over-confident there.
    """
    pad = 22
    inner = size - pad - 6
    largest = max((b["count"] for b in bins), default=0) or 1

    def x_of(value: float) -> float:
        return pad + inner * value

    def y_of(value: float) -> float:
        return 6 + inner * (1 - value)

    body = [
        f'<rect class="plot-bg" x="{pad}" y="6" width="{inner}" height="{inner}"/>',
        f'<line class="diagonal" x1="{x_of(0)}" y1="{y_of(0)}" x2="{x_of(1)}" y2="{y_of(1)}"/>',
        f'<text class="tiny" x="{pad}" y="{size - 4}">0</text>',
        f'<text class="tiny" x="{size - 6}" y="{size - 4}" text-anchor="end">1</text>',
        f'<text class="tiny" x="{pad + inner / 2}" y="{size - 4}" text-anchor="middle">predicted</text>',
        f'<text class="tiny" x="10" y="{6 + inner / 2}" text-anchor="middle" '
        f'transform="rotate(-90 10 {6 + inner / 2})">actual</text>',
    ]
    for row in bins:
        if not row["count"]:
            continue
        radius = 2.5 + 5.5 * math.sqrt(row["count"] / largest)
        under = row["mean_actual"] < row["mean_predicted"] - 0.1
        tip = (
            f"{row['lower']:.1f}–{row['upper']:.1f}: {row['count']:,} outcomes, predicted "
            f"{percent(row['mean_predicted'])}, actual {percent(row['mean_actual'])}"
        )
        body.append(
            f'<circle class="bin{" over" if under else ""}" cx="{x_of(row["mean_predicted"]):.1f}" '
            f'cy="{y_of(row["mean_actual"]):.1f}" r="{radius:.1f}"><title>{escape(tip)}</title></circle>'
        )
    return _svg(body, "Reliability: predicted confidence against actual success", size, size)
