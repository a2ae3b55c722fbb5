"""Approval pages: the queue (HTMX decisions, bulk approve, keyboard), history, one action.

Every HTMX endpoint also answers a plain form post with a full page or a redirect.
"""

from __future__ import annotations

from datetime import date
from functools import wraps

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.approvals.models import ActionStatus, ProposedAction
from apps.approvals.notifications import (
    LinkInvalid,
    LinkStale,
    action_is_stale,
    link_target,
    may_decide,
)
from apps.approvals.rendering import edit_fields, render_action
from apps.approvals.selectors import (
    DEFAULT_SORT,
    HISTORY_PAGE_SIZE,
    QUEUE_PAGE_SIZE,
    QUEUE_SORTS,
    HistoryFilters,
    action_events,
    action_get,
    action_summary_by_id,
    autonomy_suggestions_cached,
    delegate_choices,
    delegations_of,
    delegations_to,
    history_actions,
    history_choices,
    pending_count,
    queue_actions,
    queue_summary,
    sees_every_action,
)
from apps.approvals.services import (
    UNDO_WINDOW,
    DecisionConflict,
    action_decide,
    actions_bulk_approve,
    actions_undo,
    delegation_remove,
    delegation_set,
)
from apps.approvals.services import (
    conflict_message as conflict_message_for,
)
from apps.users.permissions import capability_required
from apps.web.htmx import changed, client_ip, safe_next, toast


def approver_required(view):
    """Page decorator: log in first, then 403 unless the user may decide (an approver, or
    an approver's delegate today; ``notifications.may_decide`` is the one rule)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not may_decide(request.user):
            raise PermissionDenied("Your role is not allowed to open this page.")
        return view(request, *args, **kwargs)

    return wrapper


CHANGED = "approvals-changed"
MAX_BULK = 200


def _action_or_404(request: HttpRequest, pk: int) -> ProposedAction:
    """One place decides which actions a page may touch: those on accounts the user sees."""
    try:
        return action_get(pk, user=request.user)
    except ProposedAction.DoesNotExist as missing:
        raise Http404("No such action.") from missing


def _prepared(action: ProposedAction, submitted: dict | None = None) -> ProposedAction:
    """Attach what the templates show: the action as it will be sent, its editable fields."""
    action.rendered = render_action(action)
    action.edit_fields = edit_fields(action, submitted)
    return action


def _submitted_payload(request: HttpRequest, action: ProposedAction) -> dict | None:
    """The edited payload from the "Edit & approve" form (None for a plain decision)."""
    if request.POST.get("edited") != "1":
        return None
    fields = {spec.key for spec, _ in edit_fields(action)}
    submitted = {
        key.removeprefix("field-"): value
        for key, value in request.POST.items()
        if key.startswith("field-") and key.removeprefix("field-") in fields
    }
    return {**action.payload, **submitted}


@require_GET
@approver_required
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
    for action in page.object_list:
        _prepared(action)
    context = {
        "page": page,
        "sort": sort,
        "sorts": [("risk", "Risk"), ("value", "Value"), ("age", "Oldest")],
        "summary": queue_summary(),
        "suggestions": autonomy_suggestions_cached(),
        "next": request.get_full_path(),
        "undo_banner": _undo_banner(request),
    }
    return render(request, "approvals/queue.html", context)


@require_POST
@approver_required
def decide(request: HttpRequest, pk: int) -> HttpResponse:
    """Approve or reject one action. HTMX: the queue item goes away (or shows why not)."""
    # Read first to edit it, or to apply a visibility rule; else deciding reads it back.
    action = None
    if request.POST.get("edited") == "1" or not sees_every_action(request.user):
        action = _action_or_404(request, pk)
    decision = request.POST.get("decision", "")
    reason = request.POST.get("reason", "")
    payload = _submitted_payload(request, action) if action else None
    try:
        decided = action_decide(
            action_id=pk,
            user=request.user,
            decision=decision,
            reason=reason,
            payload=payload,
            ip=client_ip(request),
            via="page",
            undoable=True,
            action=action,
            reading=action_summary_by_id,  # to confirm it: its type and account's name
        )
    except ProposedAction.DoesNotExist as missing:
        raise Http404("No such action.") from missing
    except ValidationError as invalid:
        errors = invalid.message_dict
        action = action or _action_or_404(request, pk)
        _prepared(action, payload)
        context = {"action": action, "reason": reason, "next": _back(request)}
        if payload is not None:
            context["edit_errors"] = errors
        else:
            context["errors"] = errors
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
                {"action": conflict.action, "conflict": str(conflict), "next": _back(request)},
                status=409,
            )
            return changed(response, CHANGED, message=str(conflict))
        messages.error(request, f"{conflict.action.account.name}: {conflict}")
        return redirect(_back(request))
    verb = "Approved" if decided.status == ActionStatus.APPROVED else "Rejected"
    if decided.edited:
        verb = "Approved with your edits"
    message = f"{verb}: {decided.action_type.replace('_', ' ')} for {decided.account.name}"
    return _decided(request, [decided.pk], message)


@require_POST
@approver_required
def bulk_approve(request: HttpRequest) -> HttpResponse:
    """Approve the selected actions. Without HTMX a confirmation page comes first."""
    try:
        ids = sorted({int(value) for value in request.POST.getlist("ids")})
    except ValueError:
        ids = []
    back = _back(request)
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
    return _decided(request, result.decided, message, refresh=True)


UNDO_SESSION_KEY = "approvals_undo"


def _decided(
    request: HttpRequest, ids: list[int], message: str, *, refresh: bool = False
) -> HttpResponse:
    """Confirm a browser decision and offer to undo it while the window is open.

    HTMX: a toast with an Undo button (the queue item is gone already). Without HTMX, or
    after a bulk approval that reloads the page: a banner on the next page, kept in the
    server-side session (never in a cookie), with an Undo button until the window closes.
    """
    until = (timezone.now() + UNDO_WINDOW).timestamp()
    undo_url = reverse("approvals:undo") + "?" + "&".join(f"ids={pk}" for pk in ids)
    if request.htmx and not refresh:
        response = changed(HttpResponse(""), CHANGED)
        return toast(response, message, undo_url=undo_url, seconds=UNDO_WINDOW.seconds)
    request.session[UNDO_SESSION_KEY] = {"ids": ids, "until": until}
    messages.success(request, message + ".")
    if request.htmx:
        response = HttpResponse("")
        response["HX-Refresh"] = "true"
        return changed(response, CHANGED, message=message)
    return redirect(_back(request))


def _back(request: HttpRequest) -> str:
    """Where a decision returns to: the form's ``next`` on this host, else the queue."""
    return safe_next(request, reverse("approvals:queue"))


def _undo_banner(request: HttpRequest) -> dict | None:
    """The last decision's undo ids while the window is open (shown once)."""
    banner = request.session.pop(UNDO_SESSION_KEY, None)
    if not banner:
        return None
    seconds_left = banner["until"] - timezone.now().timestamp()
    if seconds_left <= 0:
        return None
    return {**banner, "seconds_left": max(1, int(seconds_left))}


@require_POST
@approver_required
def undo(request: HttpRequest) -> HttpResponse:
    """Take back your own decisions made in the last few seconds (ids in the query)."""
    try:
        ids = sorted(
            {int(value) for value in request.GET.getlist("ids") + request.POST.getlist("ids")}
        )
    except ValueError:
        ids = []
    undone = actions_undo(action_ids=ids[:MAX_BULK], user=request.user, ip=client_ip(request))
    if undone:
        message = f"Undone: {len(undone)} action{'s' if len(undone) != 1 else ''} waiting again."
    else:
        message = "Too late to undo: the agent has been told."
    if request.htmx:
        response = HttpResponse("", status=200 if undone else 409)
        if undone:
            response["HX-Refresh"] = "true"
        return changed(response, CHANGED, message=message)
    (messages.success if undone else messages.error)(request, message)
    return redirect(safe_next(request, reverse("approvals:queue")))


def _detail_context(action: ProposedAction, extra: dict | None = None) -> dict:
    if not hasattr(action, "rendered"):
        _prepared(action)
    return {
        "action": action,
        "events": action_events(action),
        "is_pending": action.status == ActionStatus.PENDING,
        **(extra or {}),
    }


@require_GET
@approver_required
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One action in full: payload, reasons, the audit trail, and the decision forms."""
    action = _action_or_404(request, pk)
    extra = {"next": request.path, "undo_banner": _undo_banner(request)}
    return render(request, "approvals/detail.html", _detail_context(action, extra))


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
    payload_filter = None
    payload_text = params.get("payload", "").replace("\0", "").strip()[:300]
    if payload_text:
        key, separator, value = payload_text.partition("=")
        if not separator or not key.strip():
            errors["payload"] = "Use field=value, for example to=dana@example.com."
        else:
            payload_filter = {key.strip(): value.strip()}
    filters = HistoryFilters(
        payload=payload_filter,
        status=status,
        action_type=params.get("action_type", "")[:50],
        decided_by=params.get("decided_by", "")[:150],
        account=params.get("account", "")[:100],
        since=since,
        until=until,
    )
    page = Paginator(history_actions(filters, user=request.user), HISTORY_PAGE_SIZE).get_page(
        params.get("page")
    )
    query = params.copy()
    query.pop("page", None)
    context = {
        "page": page,
        "filters": filters,
        "errors": errors,
        "choices": history_choices(),
        "statuses": [s for s in ActionStatus.choices if s[0] != ActionStatus.PENDING],
        "query": query.urlencode(),
        "payload_text": payload_text,
    }
    return render(request, "approvals/history.html", context, status=400 if errors else 200)


def _link_page(
    request: HttpRequest, status: int, title: str, message: str, action=None
) -> HttpResponse:
    context = {"state": "closed", "title": title, "message": message, "action": action}
    response = render(request, "approvals/email_decision.html", context, status=status)
    response["Cache-Control"] = "no-store"
    # The token never leaves this site in a Referer ("no-referrer" made browsers post
    # "Origin: null", which the CSRF check refuses).
    response["Referrer-Policy"] = "same-origin"
    return response


@require_http_methods(["GET", "POST"])
def email_decision(request: HttpRequest, token: str) -> HttpResponse:
    """An Approve / Reject link from an approval email.

    GET shows a confirmation page and never decides (mail scanners follow links); POST
    decides as the link's recipient through the same once-only rule as every decision.
    """
    try:
        target = link_target(token)
    except LinkInvalid:
        return _link_page(
            request,
            404,
            "This link is not valid",
            "Check that you opened the whole link from your email.",
        )
    except LinkStale:
        return _link_page(
            request,
            410,
            "This link has expired",
            "Open the approval queue to see what is still waiting.",
        )
    action, recipient = target.action, target.notice.recipient
    viewer = request.user
    if viewer.is_authenticated and viewer.pk != recipient.pk:
        return _link_page(
            request,
            403,
            "This link was sent to someone else",
            "Decide from the approval queue instead.",
            action,
        )
    if not may_decide(recipient):
        return _link_page(
            request,
            403,
            "You may no longer decide on approvals",
            "Ask an admin if this is wrong.",
            action,
        )
    if action_is_stale(action):
        return _link_page(
            request, 410, "This action has expired", conflict_message_for(action), action
        )
    if action.status != ActionStatus.PENDING:
        return _link_page(request, 409, "Already decided", conflict_message_for(action), action)
    context = {
        "state": "confirm",
        "decision": target.decision,
        "action": action,
        "recipient": recipient,
        "rendered": render_action(action),
    }
    if request.method == "POST":
        reason = request.POST.get("reason", "")
        try:
            decided = action_decide(
                action_id=action.pk,
                user=recipient,
                decision=target.decision,
                reason=reason,
                ip=client_ip(request),
                via="email",
            )
        except ValidationError as invalid:
            context.update(errors=invalid.message_dict, reason=reason)
            response = render(request, "approvals/email_decision.html", context, status=400)
            response["Cache-Control"] = "no-store"
            return response
        except DecisionConflict as conflict:
            status = 410 if conflict.action.status == ActionStatus.EXPIRED else 409
            return _link_page(request, status, "Already decided", str(conflict), conflict.action)
        verb = "Approved" if decided.status == ActionStatus.APPROVED else "Rejected"
        response = render(
            request,
            "approvals/email_decision.html",
            {
                "state": "done",
                "done_message": f"{verb}: {decided.action_type.replace('_', ' ')} for {decided.account.name}",
                "message": "Thank you. The agent will be told.",
                "action": decided,
            },
        )
        response["Cache-Control"] = "no-store"
        return response
    response = render(request, "approvals/email_decision.html", context)
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "same-origin"
    return response


@require_http_methods(["GET", "POST"])
@capability_required("actions.decide")
def delegation(request: HttpRequest) -> HttpResponse:
    """Out of office: name who gets your approval notifications and may decide, and when."""
    errors: dict = {}
    values = {}
    if request.method == "POST":
        if request.POST.get("remove"):
            try:
                delegation_remove(user=request.user, delegation_id=int(request.POST["remove"]))
            except ValueError:
                pass
            messages.success(request, "Delegation removed.")
            return redirect("approvals:delegation")
        values = {
            "delegate": request.POST.get("delegate", ""),
            "starts_on": request.POST.get("starts_on", ""),
            "ends_on": request.POST.get("ends_on", ""),
        }
        try:
            made = delegation_set(
                user=request.user,
                delegate_username=values["delegate"],
                starts_on=_date(values["starts_on"]),
                ends_on=_date(values["ends_on"]),
            )
        except ValidationError as invalid:
            errors = invalid.message_dict
        else:
            messages.success(
                request,
                f"{made.delegate} will get your approvals from {made.starts_on:%d %b} "
                f"to {made.ends_on:%d %b %Y}.",
            )
            return redirect("approvals:delegation")
    context = {
        "errors": errors,
        "values": values,
        "mine": delegations_of(request.user),
        "for_me": delegations_to(request.user),
        "colleagues": delegate_choices(request.user),
    }
    return render(request, "approvals/delegation.html", context, status=400 if errors else 200)
