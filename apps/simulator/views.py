"""The managers' page of the last simulation: does the loop make the agent better?"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from apps.simulator.chart import weekly_lines
from apps.simulator.selectors import simulation_report_latest
from apps.users.permissions import capability_required


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f} %"


def _row(week: dict) -> dict:
    on, off = week["on"], week["off"]
    lift = f"{week['lift'] * 100:+.1f} pts"
    if week["low"] is not None:
        lift += f" ({week['low'] * 100:+.1f} to {week['high'] * 100:+.1f})"
    return {
        "week": week["week"],
        "reply_on": _percent(on["reply_rate"]),
        "reply_off": _percent(off["reply_rate"]),
        "lift": lift,
        "meeting_on": _percent(on["meeting_rate"]),
        "meeting_off": _percent(off["meeting_rate"]),
        "ece_on": "—" if on.get("ece_api") is None else f"{on['ece_api']:.3f}",
        "ece_off": "—" if off.get("ece_api") is None else f"{off['ece_api']:.3f}",
        "approval": _percent(on["approval_rate"]),
        "autonomy": _percent(on["autonomy_rate"]),
    }


@require_GET
@capability_required("dashboards.manager")
def report(request: HttpRequest) -> HttpResponse:
    """Per simulated week, loop on against the control; the lift; the traits found."""
    latest = simulation_report_latest()
    context = {"report": latest}
    if latest is not None:
        summary = latest.summary
        weeks = summary["weeks"]
        context |= {
            "summary": summary,
            "rows": [_row(week) for week in weeks],
            "traits": [
                {
                    "seed": seed["seed"],
                    "top": [
                        {"name": name, "planted": name in summary["planted"]}
                        for name in seed["top"]
                    ],
                    "found": len(seed["recovered"]),
                    "false": seed["false"],
                }
                for seed in summary["traits"]
            ],
            "precision": f"{summary['precision']:.2f}",
            "recall": f"{summary['recall']:.2f}",
            "last_week": weeks[-1],
            "reply_chart": weekly_lines(weeks, key="reply_rate", label="Reply rate"),
            "ece_chart": weekly_lines(weeks, key="ece_api", label="Calibration error (ECE)"),
        }
    return render(request, "simulator/report.html", context)
