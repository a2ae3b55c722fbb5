"""Insight pages: inbox (act / dismiss / undo / bulk), detail, feedback, report, customer view,
and the Server-Sent Events stream. Thin: validate, call one service or selector, render."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.crm.selectors import accounts_visible_to
from apps.insights import streams
from apps.insights.forms import (
    ActForm,
    AlertPreferencesForm,
    BulkDismissForm,
    DismissForm,
    FeedbackForm,
    InboxFilterForm,
)
from apps.insights.models import AlertFeedback, DismissReason, Insight, InsightStatus
from apps.insights.selectors import (
    TIMELINE_ORDERS,
    account_choices,
    account_open_insights,
    account_recent_outcomes,
    account_summaries,
    account_timeline,
    alert_channels_for,
    insight_settings,
    insights_visible_to,
    most_urgent_first,
    pending_count_for,
    recent_comments,
    sees_all_insights,
    severity_counts,
    usefulness_report,
)
from apps.insights.services import (
    UNDO_SECONDS,
    InsightConflict,
    alert_feedback_record,
    alert_preferences_save,
    insight_act,
    insight_dismiss,
    insight_reopen,
    insights_bulk_dismiss,
)
from apps.tenancy.money import current_currency, format_money
from apps.users.permissions import capability_required
from apps.users.roles import can
from apps.web.htmx import changed, safe_next, toast

PAGE_SIZE = 25


def _insight_for(request: HttpRequest, insight_id: int) -> Insight:
    """The one place that decides which insight a person may open: visible, or 404."""
    insights = insights_visible_to(request.user).prefetch_related(
        Prefetch(
            "feedback",
            queryset=AlertFeedback.objects.filter(user=request.user),
            to_attr="my_feedback",
        )
    )
    return get_object_or_404(insights, pk=insight_id)


# --- inbox --------------------------------------------------------------------------------


def _render_inbox(request: HttpRequest, *, status: int = 200, bulk_form=None) -> HttpResponse:
    visible = insights_visible_to(request.user)
    filters = InboxFilterForm(request.GET)
    if filters.is_valid():
        insights = most_urgent_first(filters.apply(visible))
    else:
        insights, status = visible.none(), 400
    insights = insights.prefetch_related(
        Prefetch(
            "feedback",
            queryset=AlertFeedback.objects.filter(user=request.user),
            to_attr="my_feedback",
        )
    )
    page = Paginator(insights, PAGE_SIZE).get_page(request.GET.get("page"))
    query = {k: v for k, v in request.GET.items() if k not in ("page", "count") and v}
    context = {
        "filters": filters,
        "page": page,
        "insights": page.object_list,
        "query": urlencode(query),
        # The cards count what the type and account filters select, and keep those filters.
        "counts": severity_counts(filters.narrow(visible) if filters.is_valid() else visible),
        "card_query": urlencode({k: v for k, v in query.items() if k in ("type", "account")}),
        "filtered": bool(set(query) - {"status"}),
        "account_choices": account_choices(visible),
        "can_act": can(request.user, "insights.act"),
        "can_feedback": can(request.user, "insights.feedback"),
        "can_report": can(request.user, "insights.report"),
        "sees_all": sees_all_insights(request.user),
        "reasons": DismissReason.choices,
        "bulk_form": bulk_form,
        "showing_pending": (filters.cleaned_data.get("status") or "pending") == "pending"
        if filters.is_valid()
        else True,
    }
    template = "insights/inbox.html"
    if request.htmx and request.htmx.target in ("insight-list", "severity-stats"):
        template += "#list" if request.htmx.target == "insight-list" else "#stats"
    return render(request, template, context, status=status)


@require_GET
@capability_required("insights.read")
def inbox(request: HttpRequest) -> HttpResponse:
    if request.GET.get("count"):
        count = pending_count_for(request.user)
        return HttpResponse(str(count) if count else "", content_type="text/plain")
    return _render_inbox(request)


@require_GET
@capability_required("insights.read")
def detail(request: HttpRequest, insight_id: int) -> HttpResponse:
    insight = _insight_for(request, insight_id)
    context = _detail_context(request, insight)
    if request.htmx and request.GET.get("fragment") == "row":
        return render(request, "insights/inbox.html#row", context)
    return render(request, "insights/detail.html", context)


def _detail_context(request: HttpRequest, insight: Insight, **extra) -> dict:
    return {
        "insight": insight,
        "evidence_rows": _evidence_rows(insight.evidence),
        "can_act": can(request.user, "insights.act"),
        "can_feedback": can(request.user, "insights.feedback"),
        "reasons": DismissReason.choices,
        "dismiss_form": extra.pop("dismiss_form", None) or DismissForm(),
        "feedback_form": extra.pop("feedback_form", None),
        **extra,
    }


# Evidence keys shown in plain words; EVIDENCE_HIDDEN are internal (ids, demo markers).
EVIDENCE_HIDDEN = {"demo", "deal_id", "interaction_ids", "insight_ids", "account_ids"}
EVIDENCE_LABELS = {
    "window_days": "Looked back (days)",
    "requests": "Pricing or demo requests",
    "stakeholders": "People involved",
    "contacts": "Contacts",
    "examples": "What they said",
    "streak_length": "Streak length (negative interactions in a row)",
    "mean_sentiment": "Average sentiment (−1 to +1)",
    "deal": "Deal",
    "stage": "Stage",
    "amount": "Deal value",
    "days_in_stage": "Days in this stage",
    "median_days": "Typical days in this stage (median)",
    "ratio": "Times longer than typical",
    "contact": "Contact",
    "title": "Title",
    "messages_90_days": "Messages, last 90 days",
    "last_seen": "Last heard from",
    "silent_days": "Days silent",
    "industry": "Industry",
    "source_pattern": "Pattern",
    "accounts": "Accounts",
    "change_pct": "Change (%)",
    "recent_14_days": "Interactions, last 14 days",
    "previous_30_days": "Interactions, 30 days before",
    "recent_per_day": "Per day, last 14 days",
    "previous_per_day": "Per day, 30 days before",
    "other_signals": "Also seen",
}


def _evidence_rows(evidence: dict) -> list[tuple[str, str]]:
    rows = []
    for key, value in evidence.items():
        if key in EVIDENCE_HIDDEN:
            continue
        if key == "amount":
            value = format_money(value, current_currency())
        elif isinstance(value, float) and value.is_integer():
            value = int(value)  # "9", not "9.0"
        if isinstance(value, list):
            value = ", ".join(str(item) for item in value) or "—"
        label = EVIDENCE_LABELS.get(key) or key.replace("_", " ").capitalize()
        rows.append((label, "—" if value is None else str(value)))
    return rows


def _closed(request: HttpRequest, insight: Insight, verb: str) -> HttpResponse:
    message = f"{verb}: {insight.title}"
    if request.htmx:
        response = HttpResponse("")
        toast(
            response,
            message,
            undo_url=reverse("insights:reopen", args=[insight.pk]),
            seconds=min(UNDO_SECONDS, 8),
        )
        return changed(response, "insights-changed")
    messages.success(request, message)
    return redirect(safe_next(request, reverse("insights:inbox")))


def _refused(request: HttpRequest, insight: Insight, text: str, status: int, **extra):
    if request.htmx:
        response = HttpResponse(text, status=status, content_type="text/plain")
        if status == 409:
            changed(response, "insights-changed", "insight-list-refresh")
        toast(response, text)
        return response
    context = _detail_context(request, insight, error=text, **extra)
    return render(request, "insights/detail.html", context, status=status)


@require_POST
@capability_required("insights.act")
def act(request: HttpRequest, insight_id: int) -> HttpResponse:
    return _close(request, insight_id, ActForm(request.POST), insight_act, "Acted on")


@require_POST
@capability_required("insights.act")
def dismiss(request: HttpRequest, insight_id: int) -> HttpResponse:
    return _close(request, insight_id, DismissForm(request.POST), insight_dismiss, "Dismissed")


def _close(request, insight_id: int, form, close, done: str) -> HttpResponse:
    """Act on or dismiss an insight with the form's fields; refuse a bad form or a race."""
    insight = _insight_for(request, insight_id)
    if not form.is_valid():
        if isinstance(form, DismissForm):
            return _refused(request, insight, "Choose a reason to dismiss.", 400, dismiss_form=form)
        return _refused(request, insight, "The note is too long.", 400)
    try:
        insight = close(insight=insight, user=request.user, **form.cleaned_data)
    except InsightConflict as conflict:
        return _refused(request, insight, str(conflict), 409)
    return _closed(request, insight, done)


@require_POST
@capability_required("insights.act")
def reopen(request: HttpRequest, insight_id: int) -> HttpResponse:
    insight = _insight_for(request, insight_id)
    try:
        insight = insight_reopen(insight=insight, user=request.user)
    except InsightConflict as conflict:
        return _refused(request, insight, str(conflict), 409)
    if request.htmx:
        response = HttpResponse("")
        toast(response, f"Restored: {insight.title}")
        return changed(response, "insights-changed", "insight-list-refresh")
    messages.success(request, f"Restored: {insight.title}")
    return redirect("insights:detail", insight_id=insight.pk)


@require_POST
@capability_required("insights.act")
def bulk_dismiss(request: HttpRequest) -> HttpResponse:
    pending = insights_visible_to(request.user).filter(status=InsightStatus.PENDING)
    form = BulkDismissForm(request.POST, insights=pending)
    if not form.is_valid():
        if request.htmx:
            text = " ".join(str(e) for errors in form.errors.values() for e in errors)
            response = HttpResponse(text, status=400, content_type="text/plain")
            toast(response, text)
            return response
        return _render_inbox(request, status=400, bulk_form=form)
    count = insights_bulk_dismiss(
        insights=form.cleaned_data["ids"], user=request.user, reason=form.cleaned_data["reason"]
    )
    text = f"Dismissed {count} insight{'s' if count != 1 else ''}."
    if request.htmx:
        response = HttpResponse("")
        toast(response, text)
        return changed(response, "insights-changed", "insight-list-refresh")
    messages.success(request, text)
    return redirect(safe_next(request, reverse("insights:inbox")))


@require_POST
@capability_required("insights.feedback")
def feedback(request: HttpRequest, insight_id: int) -> HttpResponse:
    insight = _insight_for(request, insight_id)
    form = FeedbackForm(request.POST)
    status = 200
    if form.is_valid():
        try:
            record = alert_feedback_record(insight=insight, user=request.user, **form.cleaned_data)
            insight.my_feedback = [record]
        except ValidationError as error:
            form.add_error(None, error)
    if not form.is_valid():
        status = 400
    if request.htmx:
        variant = "full" if request.POST.get("variant") == "full" else "row"
        context = _detail_context(
            request, insight, feedback_form=form, saved=status == 200, variant=variant
        )
        return render(request, "insights/inbox.html#feedback", context, status=status)
    if status == 400:
        context = _detail_context(request, insight, feedback_form=form)
        return render(request, "insights/detail.html", context, status=status)
    messages.success(request, "Thanks — your feedback tunes the thresholds.")
    return redirect(safe_next(request, reverse("insights:detail", args=[insight.pk])))


# --- report -------------------------------------------------------------------------------

# ?period= value: how many days back (None: all time) and the label the page shows.
REPORT_PERIODS = {"30": (30, "Last 30 days"), "90": (90, "Last 90 days"), "all": (None, "All time")}


@require_GET
@capability_required("insights.report")
def report(request: HttpRequest) -> HttpResponse:
    from datetime import timedelta

    from django.utils import timezone

    period = request.GET.get("period", "90")
    status = 200
    if period not in REPORT_PERIODS:
        period, status = "90", 400
    days, _label = REPORT_PERIODS[period]
    since = timezone.now() - timedelta(days=days) if days else None
    rows = usefulness_report(since=since)
    context = {
        "rows": rows,
        "period": period,
        "periods": [(value, label) for value, (_days, label) in REPORT_PERIODS.items()],
        "comments": recent_comments(),
        "thresholds": insight_settings(),
        "period_error": status == 400,
        "totals": {
            "total": sum(r.total for r in rows),
            "useful": sum(r.useful for r in rows),
            "not_useful": sum(r.not_useful for r in rows),
        },
    }
    return render(request, "insights/report.html", context, status=status)


# --- alert preferences ----------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@capability_required("insights.read")
def preferences(request: HttpRequest) -> HttpResponse:
    """How this person hears of new insights, per severity: live, email, digest or none."""
    current = alert_channels_for(request.user)
    form = AlertPreferencesForm(request.POST or None, current=current)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            alert_preferences_save(user=request.user, channels=form.cleaned_data)
            messages.success(request, "Saved: this is how new insights will reach you.")
            return redirect("insights:preferences")
        status = 400
    context = {
        "form": form,
        "rows": [form[severity] for severity in form.fields],
        "gets_digest": request.user.role == "manager" and bool(request.user.email),
        "has_email": bool(request.user.email),
    }
    return render(request, "insights/preferences.html", context, status=status)


# --- customer view --------------------------------------------------------------------------


@require_GET
@capability_required("insights.read")
def account(request: HttpRequest, account_id: int) -> HttpResponse:
    account = get_object_or_404(accounts_visible_to(request.user), pk=account_id)
    order = request.GET.get("order")
    order = order if order in TIMELINE_ORDERS else "newest"
    timeline = account_timeline(account, oldest_first=order == "oldest")
    page = Paginator(timeline, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "account": account,
        "page": page,
        "timeline": page.object_list,
        "order": order,
        "orders": [("newest", "Newest first"), ("oldest", "Oldest first")],
    }
    if request.htmx and request.htmx.target == "timeline":
        return render(request, "insights/account.html#timeline", context)
    context.update(
        {
            "summaries": account_summaries(account),
            "open_insights": account_open_insights(account),
            "outcomes": account_recent_outcomes(account),
            "deals": account.deals.order_by("-created_at")[:5],
            "can_act": can(request.user, "insights.act"),
        }
    )
    return render(request, "insights/account.html", context)


# --- real time: the stream views live in apps/insights/streams.py -------------------------

stream = streams.stream
