"""Approval pages: the queue (HTMX decisions, bulk approve, keyboard), history, one action.

Every HTMX endpoint also answers a plain form post with a full page or a redirect.
"""

from __future__ import annotations

from datetime import date

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from apps.approvals.models import ActionStatus, ProposedAction
from apps.approvals.selectors import (
    DEFAULT_SORT,
    HISTORY_PAGE_SIZE,
    QUEUE_PAGE_SIZE,
    QUEUE_SORTS,
    HistoryFilters,
    action_events,
    action_get,
    autonomy_suggestions_cached,
    history_actions,
    history_choices,
    pending_count,
    queue_actions,
    queue_summary,
)
from apps.approvals.services import (
    DecisionConflict,
    action_decide,
    actions_bulk_approve,
)
from apps.users.permissions import capability_required
from apps.web.htmx import changed, client_ip, safe_next

CHANGED = "approvals-changed"
MAX_BULK = 200


def _action_or_404(pk: int) -> ProposedAction:
    """One place decides which actions a page may touch: any in this organisation."""
    try:
        return action_get(pk)
    except ProposedAction.DoesNotExist as missing:
        raise Http404("No such action.") from missing


@require_GET
@capability_required("actions.decide")
def queue(request: HttpRequest) -> HttpResponse:
    """Pending actions for a manager; ``?count=1`` answers the nav badge as plain text."""
    if request.GET.get("count"):
        count = pending_count()
        return HttpResponse(str(count) if count else "", content_type="text/plain")
    if request.GET.get("summary") and request.htmx:
        return render(request, "approvals/queue.html#summary", {"summary": queue_summary()})
    sort = request.GET.get("sort", DEFAULT_SORT)
    if sort not in QUEUE_SORTS:
        sort = DEFAULT_SORT
    page = Paginator(queue_actions(sort=sort), QUEUE_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "sort": sort,
        "sorts": [("risk", "Risk"), ("value", "Value"), ("age", "Oldest")],
        "summary": queue_summary(),
        "suggestions": autonomy_suggestions_cached(),
        "next": request.get_full_path(),
    }
    return render(request, "approvals/queue.html", context)


@require_POST
@capability_required("actions.decide")
def decide(request: HttpRequest, pk: int) -> HttpResponse:
    """Approve or reject one action. HTMX: the queue item goes away (or shows why not)."""
    action = _action_or_404(pk)
    decision = request.POST.get("decision", "")
    reason = request.POST.get("reason", "")
    back = safe_next(request, reverse("approvals:queue"))
    try:
        decided = action_decide(
            action_id=action.pk,
            user=request.user,
            decision=decision,
            reason=reason,
            ip=client_ip(request),
            via="page",
        )
    except ValidationError as invalid:
        errors = invalid.message_dict
        context = {"action": action, "errors": errors, "reason": reason, "next": back}
        if request.htmx:
            return render(request, "approvals/queue.html#item", context, status=400)
        return render(
            request, "approvals/detail.html", _detail_context(action, context), status=400
        )
    except DecisionConflict as conflict:
        if request.htmx:
            response = render(
                request,
                "approvals/queue.html#item",
                {"action": conflict.action, "conflict": str(conflict), "next": back},
                status=409,
            )
            return changed(response, CHANGED, message=str(conflict))
        messages.error(request, f"{conflict.action.account.name}: {conflict}")
        return redirect(back)
    verb = "Approved" if decided.status == ActionStatus.APPROVED else "Rejected"
    message = f"{verb}: {decided.action_type.replace('_', ' ')} for {decided.account.name}"
    if request.htmx:
        return changed(HttpResponse(""), CHANGED, message=message)
    messages.success(request, message)
    return redirect(back)


@require_POST
@capability_required("actions.decide")
def bulk_approve(request: HttpRequest) -> HttpResponse:
    """Approve the selected actions. Without HTMX a confirmation page comes first."""
    try:
        ids = sorted({int(value) for value in request.POST.getlist("ids")})
    except ValueError:
        ids = []
    back = safe_next(request, reverse("approvals:queue"))
    if not ids or len(ids) > MAX_BULK:
        error = "Select at least one action." if not ids else f"Select at most {MAX_BULK}."
        if request.htmx:
            return changed(HttpResponse(error, status=400), CHANGED, message=error)
        messages.error(request, error)
        return redirect(back)
    confirmed = request.htmx or request.POST.get("confirmed") == "yes"
    if not confirmed:
        selected = list(queue_actions().filter(pk__in=ids))
        return render(request, "approvals/bulk_confirm.html", {"actions": selected, "next": back})
    result = actions_bulk_approve(
        action_ids=ids,
        user=request.user,
        reason=request.POST.get("reason", ""),
        ip=client_ip(request),
    )
    message = f"Approved {len(result.decided)} action{'s' if len(result.decided) != 1 else ''}"
    if result.skipped:
        message += f"; {result.skipped} had already been decided or expired"
    if request.htmx:
        response = HttpResponse("")
        response["HX-Refresh"] = "true"
        return changed(response, CHANGED, message=message)
    messages.success(request, message + ".")
    return redirect(back)


def _detail_context(action: ProposedAction, extra: dict | None = None) -> dict:
    return {
        "action": action,
        "events": action_events(action),
        "is_pending": action.status == ActionStatus.PENDING,
        **(extra or {}),
    }


@require_GET
@capability_required("actions.decide")
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One action in full: payload, reasons, the audit trail, and the decision forms."""
    action = _action_or_404(pk)
    return render(request, "approvals/detail.html", _detail_context(action, {"next": request.path}))


def _date(value: str) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


@require_GET
@capability_required("actions.decide")
def history(request: HttpRequest) -> HttpResponse:
    """Decided actions with filters (status, type, who decided, account, dates)."""
    params = request.GET
    errors: dict[str, str] = {}
    status = params.get("status", "")
    if status and status not in ActionStatus.values:
        errors["status"] = "Unknown status."
        status = ""
    since, until = _date(params.get("since", "")), _date(params.get("until", ""))
    for name, parsed in (("since", since), ("until", until)):
        if params.get(name) and parsed is None:
            errors[name] = "Use a date like 2026-01-31."
    filters = HistoryFilters(
        status=status,
        action_type=params.get("action_type", "")[:50],
        decided_by=params.get("decided_by", "")[:150],
        account=params.get("account", "")[:100],
        since=since,
        until=until,
    )
    page = Paginator(history_actions(filters), HISTORY_PAGE_SIZE).get_page(params.get("page"))
    query = params.copy()
    query.pop("page", None)
    context = {
        "page": page,
        "filters": filters,
        "errors": errors,
        "choices": history_choices(),
        "statuses": [s for s in ActionStatus.choices if s[0] != ActionStatus.PENDING],
        "query": query.urlencode(),
    }
    return render(request, "approvals/history.html", context, status=400 if errors else 200)
