"""Krippendorff's alpha: agreement between any number of reviewers, with missing values.

A small implementation of the coincidence-matrix form (Krippendorff 2011, "Computing
Krippendorff's Alpha-Reliability"); the PyPI ``krippendorff`` package needs numpy, which
this project does not otherwise use. ``alpha = 1 - D_o / D_e`` with the nominal, ordinal
or interval difference function.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

NOMINAL = "nominal"
ORDINAL = "ordinal"
INTERVAL = "interval"
LEVELS = (NOMINAL, ORDINAL, INTERVAL)


def _coincidences(units: Iterable[Sequence[float | None]]) -> dict[tuple[float, float], float]:
    """o_ck: each ordered pair of values within a unit, weighted 1 / (m_u - 1)."""
    matrix: dict[tuple[float, float], float] = defaultdict(float)
    for unit in units:
        values = [value for value in unit if value is not None]
        count = len(values)
        if count < 2:
            continue  # a unit with one value has nothing to pair
        weight = 1.0 / (count - 1)
        for i, first in enumerate(values):
            for j, second in enumerate(values):
                if i != j:
                    matrix[(first, second)] += weight
    return matrix


def _difference(level: str, totals: dict[float, float]):
    if level == NOMINAL:
        return lambda c, k: 0.0 if c == k else 1.0
    if level == INTERVAL:
        return lambda c, k: (c - k) ** 2
    if level == ORDINAL:
        ordered = sorted(totals)
        position = {value: index for index, value in enumerate(ordered)}
        cumulative = [0.0]
        for value in ordered:
            cumulative.append(cumulative[-1] + totals[value])

        def ordinal(c: float, k: float) -> float:
            low, high = sorted((position[c], position[k]))
            between = cumulative[high + 1] - cumulative[low]
            return (between - (totals[c] + totals[k]) / 2) ** 2

        return ordinal
    raise ValueError(f"level must be one of {', '.join(LEVELS)}")


def krippendorff_alpha(units: Iterable[Sequence[float | None]], level: str = NOMINAL):
    """Alpha over ``units`` (one sequence of reviewers' values per item, None = missing).

    Returns None when it is undefined: fewer than two pairable values, or no variation
    at all (every value the same), where the expected disagreement is zero.
    """
    matrix = _coincidences(units)
    totals: dict[float, float] = defaultdict(float)
    for (first, _), weight in matrix.items():
        totals[first] += weight
    n = sum(totals.values())
    if n <= 1:
        return None
    delta = _difference(level, totals)
    observed = sum(weight * delta(c, k) for (c, k), weight in matrix.items())
    values = list(totals)
    expected = sum(totals[c] * totals[k] * delta(c, k) for c in values for k in values)
    if expected == 0:
        return None
    return 1.0 - (n - 1) * observed / expected
