"""The rep, team (manager) and executive dashboards.

Each page reads ``?period=30d|90d|365d`` (the HTMX range switch swaps only the body) and
``?refresh=1`` (recompute now instead of serving the 5-minute cache).
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.http import require_GET

from apps.dashboards import sections
from apps.dashboards.forms import DashboardForm
from apps.dashboards.periods import DEFAULT_PERIOD, PERIOD_LABELS, Period
from apps.dashboards.selectors import (
    UnknownRep,
    executive_dashboard_data,
    manager_dashboard_data,
    rep_scope_for,
    reps_for_picker,
)
from apps.dashboards.services import dashboard_numbers, rep_dashboard_numbers
from apps.users.permissions import capability_required
from apps.users.roles import sees_only_own
from apps.web.replica import reads_from_replica


def _read_form(request: HttpRequest) -> tuple[DashboardForm, dict, int]:
    form = DashboardForm(request.GET)
    if form.is_valid():
        return form, form.cleaned_data, 200
    cleaned = {"period": DEFAULT_PERIOD, "refresh": False, "rep": ""}
    cleaned |= {k: v for k, v in getattr(form, "cleaned_data", {}).items() if k in cleaned}
    return form, cleaned, 400


def _trend_charts(data: dict) -> dict:
    return {
        "activity_chart": sections.activity_chart(data["trend"]),
        "has_activity": any(point["outcomes"] for point in data["trend"]),
    }


def _render(
    request: HttpRequest,
    template: str,
    *,
    form: DashboardForm,
    data: dict,
    status: int,
    extra: dict,
) -> HttpResponse:
    period = data["period"]
    keep = {"rep": data["rep"]} if data.get("rep") and not sees_only_own(request.user) else {}
    context = {
        "form": form,
        "data": data,
        "period": period,
        "period_label": PERIOD_LABELS[period],
        "ranges": [
            {"code": code, "label": label, "url": "?" + urlencode(keep | {"period": code})}
            for code, label in PERIOD_LABELS.items()
        ],
        "refresh_url": "?" + urlencode(keep | {"period": period, "refresh": 1}),
        "generated_at": parse_datetime(data["generated_at"]),
        **_trend_charts(data),
        **extra,
    }
    name = f"{template}#body" if request.htmx and status == 200 else template
    return render(request, name, context, status=status)


def _dashboard(
    request: HttpRequest,
    template: str,
    kind: str,
    build: Callable[[Period], dict],
    extra: Callable[[dict], dict],
    scope: str = "org",
) -> HttpResponse:
    form, cleaned, status = _read_form(request)
    period = Period(cleaned["period"], timezone.now())
    data = dashboard_numbers(
        kind, period, lambda: build(period), scope=scope, refresh=cleaned["refresh"]
    )
    return _render(request, template, form=form, data=data, status=status, extra=extra(data))


@require_GET
@capability_required("dashboards.rep")
@reads_from_replica
def rep(request: HttpRequest) -> HttpResponse:
    """My accounts: outputs to rate, success and reply rates, goals and open insights."""
    form, cleaned, status = _read_form(request)
    try:
        scope_user = rep_scope_for(request.user, cleaned["rep"])
    except UnknownRep as error:
        form.add_error("rep", str(error))
        scope_user, status = rep_scope_for(request.user, ""), 400
    period = Period(cleaned["period"], timezone.now())
    data = rep_dashboard_numbers(scope_user, period, refresh=cleaned["refresh"])
    extra = {
        "scope_user": scope_user,
        "is_own": scope_user is not None and scope_user.pk == request.user.pk,
        "can_pick_rep": not sees_only_own(request.user),
        "reps": reps_for_picker() if not sees_only_own(request.user) else [],
        **sections.rep_live_sections(request, scope_user, period),
    }
    return _render(request, "dashboards/rep.html", form=form, data=data, status=status, extra=extra)


@require_GET
@capability_required("dashboards.manager")
@reads_from_replica
def manager(request: HttpRequest) -> HttpResponse:
    """The team: outcomes by rep and clone, approvals, calibration, feedback, insights."""
    return _dashboard(
        request, "dashboards/team.html", "manager", manager_dashboard_data, sections.team_extra
    )


@require_GET
@capability_required("dashboards.executive")
@reads_from_replica
def executive(request: HttpRequest) -> HttpResponse:
    """Pipeline and revenue influenced by the agent, autonomy, goals, trends. Read-only."""
    return _dashboard(
        request,
        "dashboards/executive.html",
        "executive",
        executive_dashboard_data,
        sections.executive_extra,
    )
