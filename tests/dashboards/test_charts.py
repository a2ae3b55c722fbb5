"""The server-side SVG charts: readable axes, escaped labels, a tooltip on every mark."""

from __future__ import annotations

from apps.dashboards import charts


def _points(values):
    return [
        {"label": f"{n} Nov", "outcomes": v, "success_rate": None if v == 0 else 0.5}
        for n, v in enumerate(values, 1)
    ]


def test_axis_uses_round_steps():
    assert charts._nice_scale(10) == (10, 5)
    assert charts._nice_scale(7) == (8, 4)
    assert charts._nice_scale(0) == (4, 4)
    assert charts._nice_scale(180_000) == (200_000, 4)


def test_trend_chart_has_a_bar_and_tooltip_per_point_and_a_rate_line():
    svg = charts.trend_chart(
        _points([3, 0, 5]),
        bar=charts.Series("outcomes", "Actions"),
        line=charts.Series("success_rate", "Success"),
    )

    assert svg.startswith("<svg") and 'role="img"' in svg
    assert svg.count('class="bar"') == 3
    assert "3 Nov: 5 actions, 50% success" in svg
    assert svg.count('class="dot"') == 2  # no dot where nothing was decided


def test_labels_are_escaped():
    svg = charts.trend_chart(
        [{"label": "<script>", "outcomes": 1}], bar=charts.Series("outcomes", "Actions")
    )

    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg


def test_reliability_plot_marks_over_confident_bins():
    bins = [
        {"lower": 0.8, "upper": 0.9, "count": 10, "mean_predicted": 0.85, "mean_actual": 0.3},
        {"lower": 0.2, "upper": 0.3, "count": 5, "mean_predicted": 0.25, "mean_actual": 0.25},
        {"lower": 0.5, "upper": 0.6, "count": 0, "mean_predicted": None, "mean_actual": None},
    ]

    svg = charts.reliability_plot(bins)

    assert svg.count("<circle") == 2
    assert svg.count('class="bin over"') == 1
    assert "10 outcomes, predicted 85%, actual 30%" in svg


def test_money_and_percent_formats():
    assert charts.money(1_250_000) == "$1.2M"
    assert charts.money(336_000) == "$336k"
    assert charts.money(950) == "$950"
    assert charts.percent(0.666) == "67%"
    assert charts.percent(None) == "—"
