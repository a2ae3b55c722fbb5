"""Pages: the outcomes list (with status filters), one outcome, and the calibration page."""

from __future__ import annotations

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from apps.agents.models import Clone
from apps.outcomes.models import ActionType, OutcomeStatus
from apps.outcomes.selectors import (
    calibration_reports,
    older_than,
    outcome_status_counts,
    outcomes_visible_to,
    status_count_label,
)
from apps.users.permissions import capability_required
from apps.users.roles import can
from apps.web.replica import reads_from_replica

PAGE_SIZE = 50


class OutcomeFilterForm(forms.Form):
    status = forms.ChoiceField(
        choices=[("", "All statuses"), *OutcomeStatus.choices], required=False
    )
    action_type = forms.ModelChoiceField(
        queryset=ActionType.objects.all(),
        to_field_name="code",
        required=False,
        empty_label="All action types",
    )
    clone = forms.ModelChoiceField(
        queryset=Clone.objects.all(),
        to_field_name="external_id",
        required=False,
        empty_label="All clones",
    )
    before = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)


def _query(data: dict, **changes) -> str:
    """A query string of the current filters with some changed (empty values dropped)."""
    merged = {key: value for key, value in {**data, **changes}.items() if value not in ("", None)}
    return "?" + "&".join(f"{key}={value}" for key, value in merged.items()) if merged else "?"


@require_GET
@capability_required("outcomes.read")
def outcome_list(request: HttpRequest) -> HttpResponse:
    """Every recorded agent action the user may see, most recent first, by status.

    Ordered by when the action happened (agents may report late), paged by keyset: ``before``
    is the last row's id, and the next page starts after its time and id.
    """
    form = OutcomeFilterForm(request.GET)
    visible = outcomes_visible_to(request.user)
    status_code = 200
    rows, counts, has_more, filters = [], {}, False, {}
    if form.is_valid():
        data = form.cleaned_data
        filtered = visible
        if data["action_type"]:
            filtered = filtered.filter(action_type=data["action_type"])
        if data["clone"]:
            filtered = filtered.filter(clone=data["clone"])
        counts = outcome_status_counts(filtered)
        if data["status"]:
            filtered = filtered.filter(status=data["status"])
        if data["before"]:
            filtered = older_than(filtered, data["before"])
        rows = list(filtered.order_by("-occurred_at", "-id")[: PAGE_SIZE + 1])
        has_more = len(rows) > PAGE_SIZE
        rows = rows[:PAGE_SIZE]
        filters = {
            "status": data["status"],
            "action_type": data["action_type"].code if data["action_type"] else "",
            "clone": data["clone"].external_id if data["clone"] else "",
        }
    else:
        status_code = 400
    tabs = [
        {
            "label": label,
            "value": value,
            "count": counts.get(value or "all", 0),
            "count_label": status_count_label(counts.get(value or "all", 0)),
            "query": _query(filters, status=value),
            "active": filters.get("status", "") == value,
        }
        for value, label in [("", "All"), *OutcomeStatus.choices]
    ]
    context = {
        "form": form,
        "rows": rows,
        "tabs": tabs,
        "filters": filters,
        "older_query": _query(filters, before=rows[-1].pk) if has_more else "",
        "is_first_page": not (form.is_valid() and form.cleaned_data["before"]),
        "first_page_query": _query(filters),
        "show_calibration": can(request.user, "calibration.view"),
    }
    template = "outcomes/list.html#results" if request.htmx else "outcomes/list.html"
    return render(request, template, context, status=status_code)


@require_GET
@capability_required("outcomes.read")
def outcome_detail(request: HttpRequest, pk: int) -> HttpResponse:
    record = get_object_or_404(
        outcomes_visible_to(request.user).select_related(
            "resolving_interaction",
            "clone__owner",
            "account",
            "deal",
            "action_type",
            "proposed_action",
        ),
        pk=pk,
    )
    history = list(record.changes.order_by("created_at", "id")[:50])
    return render(request, "outcomes/detail.html", {"record": record, "history": history})


# --- calibration page -----------------------------------------------------------------------

# Plot geometry of the reliability diagram (SVG user units).
PLOT_LEFT, PLOT_TOP, PLOT_WIDTH, PLOT_HEIGHT = 48, 14, 300, 240


def _x(value: float) -> float:
    return round(PLOT_LEFT + value * PLOT_WIDTH, 2)


def _y(value: float) -> float:
    return round(PLOT_TOP + (1 - value) * PLOT_HEIGHT, 2)


def reliability_chart(report: dict) -> dict:
    """Coordinates of a reliability diagram: actual-rate bars, the gap to the predicted
    confidence, the diagonal of perfect calibration and each bin's count."""
    bars = []
    for row in report["bins"]:
        slot = PLOT_WIDTH / len(report["bins"])
        left = _x(row["lower"]) + 3
        bar = {"x": left, "width": round(slot - 6, 2), "count": row["count"]}
        bar["label_x"] = round(left + bar["width"] / 2, 2)
        if row["count"]:
            actual, predicted = row["mean_actual"], row["mean_predicted"]
            bar |= {
                "y": _y(actual),
                "height": round(actual * PLOT_HEIGHT, 2),
                "gap_y": _y(max(actual, predicted)),
                "gap_height": round(abs(predicted - actual) * PLOT_HEIGHT, 2),
                "over": predicted > actual,
                "dot_x": _x(predicted),
                "dot_y": _y(predicted),
                "title": (
                    f"{row['lower']:.1f}–{row['upper']:.1f}: {row['count']} outcomes, "
                    f"predicted {predicted:.0%}, actual {actual:.0%}"
                ),
            }
        bars.append(bar)
    ticks = [
        {"value": f"{step / 5:.1f}", "x": _x(step / 5), "y": _y(step / 5)} for step in range(6)
    ]
    return {
        "bars": bars,
        "ticks": ticks,
        "left": PLOT_LEFT,
        "top": PLOT_TOP,
        "right": PLOT_LEFT + PLOT_WIDTH,
        "bottom": PLOT_TOP + PLOT_HEIGHT,
        "mid_x": PLOT_LEFT + PLOT_WIDTH / 2,
        "mid_y": PLOT_TOP + PLOT_HEIGHT / 2,
        "width": PLOT_LEFT + PLOT_WIDTH + 12,
        "height": PLOT_TOP + PLOT_HEIGHT + 58,
    }


def _summary(report: dict) -> dict:
    """In words: is the agent's confidence believable, and which way is it off?

    ECE says how far off the confidence is; the overall mean predicted against the mean
    actual says in which direction (both ways at once is "mixed").
    """
    sample = report["sample_size"]
    if not sample:
        return {}
    counted = [row for row in report["bins"] if row["count"]]
    predicted = sum(row["count"] * row["mean_predicted"] for row in counted) / sample
    actual = sum(row["count"] * row["mean_actual"] for row in counted) / sample
    gap = predicted - actual
    if report["ece"] <= 0.05:
        verdict = "well calibrated"
    elif gap > 0.03:
        verdict = "over-confident"
    elif gap < -0.03:
        verdict = "under-confident"
    else:
        verdict = "mixed"
    return {
        "predicted": predicted,
        "actual": actual,
        "gap": abs(gap),
        "ece": report["ece"],
        "verdict": verdict,
    }


@require_GET
@capability_required("calibration.view")
@reads_from_replica
def calibration(request: HttpRequest) -> HttpResponse:
    """A reliability diagram per action type: is the agent's confidence worth believing?"""
    action_types = list(ActionType.objects.filter(is_active=True))
    reports = calibration_reports(action_types)
    for report in reports:
        report["chart"] = reliability_chart(report)
        report["summary"] = _summary(report)
    return render(request, "outcomes/calibration.html", {"reports": reports})
