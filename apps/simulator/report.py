"""What a simulation found, over seeds: per week, the lift against the control, the targets.

``summarise`` turns the runs (one loop-on and one loop-off per seed) into plain data (JSON
ready: it is printed, stored in ``SimulationReport`` and drawn on the managers' page).
The lift's interval is Student's t over the seeds' differences: each seed's two arms meet
the same customers with the same luck, so a seed's difference is one honest measurement.
"""

from __future__ import annotations

import math
import statistics

from apps.simulator.engine import TRUE_TRAITS, RunResult, WeekStats

# Two-sided 95 % quantiles of Student's t by degrees of freedom (seeds − 1).
T_95 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262}
MAX_FALSE_IN_TOP = 1
MIN_TRAITS_FOUND = 2
ECE_SHRINK = 0.5  # week-8 ECE at most half of week 1's
WEEK_FIELDS = (
    "reply_rate",
    "meeting_rate",
    "ece_week",
    "ece_api",
    "approval_rate",
    "autonomy_rate",
)


def interval(values: list[float]) -> tuple[float, float | None, float | None]:
    """Mean and 95 % t-interval; no interval from one value."""
    mean = statistics.fmean(values)
    if len(values) < 2:
        return mean, None, None
    t = T_95.get(len(values) - 1, 1.96)
    margin = t * statistics.stdev(values) / math.sqrt(len(values))
    return mean, mean - margin, mean + margin


def arm_summary(result: RunResult) -> list[dict]:
    """One arm's weeks, as ``seed_summary`` keeps them (for arms run in separate processes)."""
    return [_week(week) for week in result.weeks]


def _week(stats: WeekStats) -> dict:
    return {name: getattr(stats, name) for name in WEEK_FIELDS} | {"emails": stats.emails}


def _mean_week(weeks: list[dict]) -> dict:
    return {
        key: (
            statistics.fmean(values)
            if (values := [w[key] for w in weeks if w[key] is not None])
            else None
        )
        for key in weeks[0]
    }


def seed_summary(seed: int, on: RunResult, off: RunResult) -> dict:
    """One seed: its weeks (loop on, control, their reply-rate difference), its top five."""
    found = on.found_traits
    return {
        "seed": seed,
        "weeks": [
            {
                "on": _week(week_on),
                "off": _week(week_off),
                "lift": week_on.reply_rate - week_off.reply_rate,
            }
            for week_on, week_off in zip(on.weeks, off.weeks, strict=True)
        ],
        "traits": {
            "seed": seed,
            "top": found,
            "false": sum(trait not in TRUE_TRAITS for trait in found),
            "recovered": sorted(set(found) & set(TRUE_TRAITS)),
            "precision": on.precision,
            "recall": on.recall,
        },
        "calls": on.calls + off.calls,
        "throttled": on.throttled + off.throttled,
    }


def summarise(pairs: list[tuple[int, RunResult, RunResult]], *, params: dict) -> dict:
    """``pairs``: (seed, loop-on run, loop-off run) for each seed."""
    return combine([seed_summary(*pair) for pair in pairs], params=params)


def combine(seeds: list[dict], *, params: dict) -> dict:
    """The report over seeds (``seed_summary`` each, e.g. from runs in parallel processes)."""
    weeks = []
    for index in range(len(seeds[0]["weeks"])):
        lift, low, high = interval([seed["weeks"][index]["lift"] for seed in seeds])
        weeks.append(
            {
                "week": index + 1,
                "on": _mean_week([seed["weeks"][index]["on"] for seed in seeds]),
                "off": _mean_week([seed["weeks"][index]["off"] for seed in seeds]),
                "lift": lift,
                "low": low,
                "high": high,
            }
        )
    traits = [seed["traits"] for seed in seeds]
    last, first = weeks[-1], weeks[0]
    # The calibration API's ECE at the end of the week: the figure the product reports.
    ece_first, ece_last = first["on"]["ece_api"], last["on"]["ece_api"]
    targets = [
        {
            "name": f"reply-rate lift in week {last['week']}: 95 % interval over {len(seeds)} seeds above 0",
            "value": _interval_text(last["lift"], last["low"], last["high"]),
            "passed": last["low"] is not None and last["low"] > 0,
        },
        {
            "name": f"calibration API's ECE after week {last['week']} at most half of "
            "week 1's (loop on)",
            "value": f"{_num(ece_last)} vs {_num(ece_first)}",
            "passed": ece_first is not None
            and ece_last is not None
            and ece_last <= ECE_SHRINK * ece_first,
        },
        {
            "name": f"learnings' top 5: ≥ {MIN_TRAITS_FOUND} of {len(TRUE_TRAITS)} planted traits, "
            f"≤ {MAX_FALSE_IN_TOP} false (every seed)",
            "value": ", ".join(
                f"seed {t['seed']}: {len(t['recovered'])} found, {t['false']} false" for t in traits
            ),
            "passed": all(
                len(t["recovered"]) >= MIN_TRAITS_FOUND and t["false"] <= MAX_FALSE_IN_TOP
                for t in traits
            ),
        },
    ]
    return {
        "params": params | {"seeds": [seed["seed"] for seed in seeds]},
        "planted": list(TRUE_TRAITS),
        "weeks": weeks,
        "traits": traits,
        "per_seed": seeds,
        "precision": statistics.fmean(t["precision"] for t in traits),
        "recall": statistics.fmean(t["recall"] for t in traits),
        "targets": targets,
        "calls": sum(seed["calls"] for seed in seeds),
        "throttled": sum(seed["throttled"] for seed in seeds),
    }


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _interval_text(mean: float, low: float | None, high: float | None) -> str:
    if low is None:
        return f"{mean:+.3f} (one seed: no interval)"
    return f"{mean:+.3f} [{low:+.3f}, {high:+.3f}]"


def summary_lines(summary: dict) -> list[str]:
    """The printed report: the weekly table, the traits, the targets with pass/fail."""
    params = summary["params"]
    lines = [
        f"Simulation: {params['weeks']} weeks, {params['reps']} reps, seeds "
        f"{', '.join(map(str, params['seeds']))}; {summary['calls']} API calls"
        f" ({summary['throttled']} throttled); means over seeds.",
        "week  reply on  off    lift [95 % interval]        meeting on  off    "
        "ECE on  off    approval  autonomy",
    ]
    for week in summary["weeks"]:
        on, off = week["on"], week["off"]
        lines.append(
            f"{week['week']:>4}  {on['reply_rate']:.3f}  {off['reply_rate']:.3f}  "
            f"{_interval_text(week['lift'], week['low'], week['high']):<27}  "
            f"{on['meeting_rate']:.3f}  {off['meeting_rate']:.3f}  "
            f"{_num(on['ece_api'])}  {_num(off['ece_api'])}  "
            f"{on['approval_rate']:>8.3f}  {on['autonomy_rate']:>8.3f}"
        )
    for traits in summary["traits"]:
        lines.append(
            f"seed {traits['seed']}: learnings top 5: {', '.join(traits['top']) or 'none'}"
            f"  precision {traits['precision']:.2f}  recall {traits['recall']:.2f}"
        )
    lines.append(
        f"planted: {', '.join(summary['planted'])}; mean precision {summary['precision']:.2f},"
        f" recall {summary['recall']:.2f}"
    )
    for target in summary["targets"]:
        lines.append(
            f"[{'PASS' if target['passed'] else 'FAIL'}] {target['name']}: {target['value']}"
        )
    return lines
