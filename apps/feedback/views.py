"""Pages: the rep's review feed and rating, the manager's summary, learnings and export."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.feedback.forms import (
    DetailedFeedbackForm,
    ExportForm,
    InlineRatingForm,
    LearningActiveForm,
    LearningCreateForm,
    LearningFilterForm,
    ReviewFilterForm,
    SummaryFilterForm,
)
from apps.feedback.models import FeedbackAspect, FeedbackEntry, FeedbackKind, Learning
from apps.feedback.selectors import (
    EXPORT_FIELDS,
    feedback_export_pages,
    feedback_summary,
    learning_applications,
    learnings_ranked,
    outcome_for_rating,
    review_feed,
)
from apps.feedback.services import (
    feedback_rate,
    learning_create,
    learning_keep,
    learning_set_active,
)
from apps.feedback.services.ratings import feedback_current
from apps.outcomes.models import ActionType, OutcomeRecord
from apps.users.permissions import capability_required
from apps.users.roles import can
from apps.web.downloads import csv_lines, download, spreadsheet_safe
from apps.web.htmx import safe_next, toast
from apps.web.replica import reads_from_replica

REVIEW_PAGE_SIZE = 20
APPLICATIONS_PAGE_SIZE = 25
RATING_LABELS = {-1: "−1", 0: "0", 1: "+1"}


def _aspects_offered() -> list[FeedbackAspect]:
    return list(FeedbackAspect.objects.filter(is_active=True))


def _action_type_choices() -> list[tuple[str, str]]:
    return list(ActionType.objects.order_by("code").values_list("code", "name"))


@require_GET
@capability_required("feedback.rate")
def review(request: HttpRequest) -> HttpResponse:
    """The "to review" feed: agent outputs on my accounts, the ones I have not rated first."""
    form = ReviewFilterForm(request.GET or None, action_types=_action_type_choices())
    filters = form.cleaned_data if form.is_valid() else {}
    status_code = 400 if form.is_bound and not form.is_valid() else 200
    outcomes = review_feed(
        request.user,
        status=filters.get("status", ""),
        action_type=filters.get("action_type", ""),
        rated=filters.get("rated", ""),
    )
    page = Paginator(outcomes, REVIEW_PAGE_SIZE).get_page(filters.get("page") or 1)
    query = request.GET.copy()
    query.pop("page", None)
    context = {"form": form, "page_obj": page, "query": query.urlencode()}
    template = "feedback/review.html#feed" if request.htmx else "feedback/review.html"
    return render(request, template, context, status=status_code)


def _rating_response(request: HttpRequest, outcome, *, error: str = "", status: int = 200):
    """The rating partial HTMX swaps in: a fragment, rendered without the context
    processors of a whole page (navigation, messages), which it does not show."""
    context = {
        "request": request,
        "outcome": outcome,
        "next": request.POST.get("next", ""),
        "rating_error": error,
    }
    return HttpResponse(render_to_string("feedback/_rating.html", context), status=status)


@require_POST
@capability_required("feedback.rate")
def rate(request: HttpRequest, pk: int) -> HttpResponse:
    """Save my inline −1 / 0 / +1 rating; HTMX gets the rating partial back at once."""
    form = InlineRatingForm(request.POST)
    if not form.is_valid():
        outcome = outcome_for_rating(request.user, pk)  # an error shows the record
        error = form.errors["rating"][0]
        if request.htmx:
            return _rating_response(request, outcome, error=error, status=400)
        return _outcome_page(request, outcome, rating_error=error, status=400)
    # The partial and the redirect need the record's id alone.
    try:
        entry, _ = feedback_rate(
            user=request.user,
            outcome=outcome_for_rating(request.user, pk, id_only=True),
            kind=FeedbackKind.INLINE,
            rating=form.cleaned_data["rating"],
        )
    except OutcomeRecord.DoesNotExist as missing:
        raise Http404("No such output.") from missing
    outcome = entry.outcome
    outcome.my_inline_rating = entry.rating
    message = f"Rated {RATING_LABELS[entry.rating]}"
    if request.htmx:
        response = _rating_response(request, outcome)
        return toast(response, message)
    messages.success(request, message)
    return redirect(safe_next(request, reverse("feedback:outcome", args=[outcome.pk])))


def _outcome_page(
    request: HttpRequest,
    outcome,
    *,
    form: DetailedFeedbackForm | None = None,
    rating_error: str = "",
    status: int = 200,
) -> HttpResponse:
    if form is None:
        entry = (
            FeedbackEntry.objects.filter(
                user=request.user, outcome=outcome, kind=FeedbackKind.DASHBOARD
            )
            .prefetch_related("aspects")
            .first()
        )
        initial = {}
        if entry is not None:
            initial = feedback_current(entry)
            initial["feature_requests"] = "\n".join(initial["feature_requests"])
        form = DetailedFeedbackForm(initial=initial, aspects=_aspects_offered())
    context = {
        "outcome": outcome,
        "form": form,
        "rating_error": rating_error,
        "next": safe_next(request, ""),
    }
    return render(request, "feedback/outcome.html", context, status=status)


@require_http_methods(["GET", "POST"])
@capability_required("feedback.rate")
def outcome_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One output with its inline rating and the detailed (1–5) feedback form."""
    outcome = outcome_for_rating(request.user, pk)
    if request.method == "GET":
        return _outcome_page(request, outcome)
    form = DetailedFeedbackForm(request.POST, aspects=_aspects_offered())
    if form.is_valid():
        try:
            feedback_rate(
                user=request.user, outcome=outcome, kind=FeedbackKind.DASHBOARD, **form.cleaned_data
            )
        except ValidationError as error:
            for field, field_errors in error.message_dict.items():
                form.add_error(field if field in form.fields else None, field_errors)
    if not form.is_valid():
        if request.htmx:
            context = {"outcome": outcome, "form": form}
            return render(request, "feedback/outcome.html#detailed-form", context, status=400)
        return _outcome_page(request, outcome, form=form, status=400)
    if request.htmx:
        context = {"outcome": outcome, "form": form, "saved": True}
        response = render(request, "feedback/outcome.html#detailed-form", context)
        return toast(response, "Detailed feedback saved")
    messages.success(request, "Detailed feedback saved.")
    return redirect(request.path)


@require_GET
@capability_required("feedback.view_team")
def summary(request: HttpRequest) -> HttpResponse:
    """Manager view: how reps rate the agent, per action type and per clone."""
    form = SummaryFilterForm(request.GET or None)
    valid = not form.is_bound or form.is_valid()
    days = (form.cleaned_data.get("days") if form.is_bound and valid else None) or 30
    context = {
        "form": form,
        "days": days,
        "data": feedback_summary(days=days),
        "can_export": can(request.user, "feedback.export"),
        "action_types": _action_type_choices(),
    }
    return render(request, "feedback/summary.html", context, status=200 if valid else 400)


def _learnings_page(
    request: HttpRequest,
    *,
    filter_form: LearningFilterForm | None = None,
    create_form: LearningCreateForm | None = None,
    status: int = 200,
) -> HttpResponse:
    action_types = _action_type_choices()
    filter_form = filter_form or LearningFilterForm(action_types=action_types)
    valid = not filter_form.is_bound or filter_form.is_valid()
    filters = filter_form.cleaned_data if filter_form.is_bound and valid else {}
    status_filter = filters.get("status") or "active"
    active = {"active": True, "inactive": False, "all": None}[status_filter]
    rows = list(
        learnings_ranked(
            action_type=filters.get("action_type", ""),
            category=filters.get("category", ""),
            active=active,
            include_hurting=True,
        )[:200]
    )
    context = {
        "form": filter_form,
        "create_form": create_form or LearningCreateForm(action_types=action_types),
        "learnings": rows,
    }
    template = (
        "feedback/learnings.html#list"
        if request.htmx and request.method == "GET"
        else "feedback/learnings.html"
    )
    return render(request, template, context, status=status if valid else 400)


@require_GET
@capability_required("learnings.manage")
def learnings(request: HttpRequest) -> HttpResponse:
    """Learnings ranked as the agent gets them, with their evidence and lift; (de)activate,
    keep or retire here, and write a new one."""
    form = LearningFilterForm(request.GET or None, action_types=_action_type_choices())
    return _learnings_page(request, filter_form=form)


@require_POST
@capability_required("learnings.manage")
def learning_new(request: HttpRequest) -> HttpResponse:
    """A manager writes a learning; with no evidence yet its confidence is 0.5."""
    form = LearningCreateForm(request.POST, action_types=_action_type_choices())
    if form.is_valid():
        data = form.cleaned_data
        action_type = None
        if data["action_type"]:
            action_type = ActionType.objects.get(code=data["action_type"])
        try:
            learning = learning_create(
                title=data["title"],
                guidance=data["guidance"],
                category=data["category"],
                action_type=action_type,
                relevance_score=data["relevance_score"],
                created_by=request.user,
            )
        except ValidationError as error:
            for field, field_errors in error.message_dict.items():
                form.add_error(field if field in form.fields else None, field_errors)
    if not form.is_valid():
        if request.htmx:
            return render(
                request, "feedback/learnings.html#create-form", {"create_form": form}, status=400
            )
        return _learnings_page(request, create_form=form, status=400)
    message = f"“{learning.title}” added. With no evidence yet, its confidence is 0.5."
    messages.success(request, message)
    target = reverse("feedback:learning", args=[learning.pk])
    if request.htmx:
        response = HttpResponse(status=204)
        response["HX-Redirect"] = target
        return response
    return redirect(target)


@require_GET
@capability_required("learnings.manage")
def learning_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One learning: its scores, its lift and every use, newest first."""
    learning = get_object_or_404(
        learnings_ranked(active=None, include_hurting=True).select_related("created_by", "kept_by"),
        pk=pk,
    )
    page = Paginator(learning_applications(learning), APPLICATIONS_PAGE_SIZE).get_page(
        request.GET.get("page") or 1
    )
    context = {"learning": learning, "page_obj": page}
    return render(request, "feedback/learning.html", context)


def _learning_changed(request: HttpRequest, learning: Learning, message: str) -> HttpResponse:
    """After a manager changed a learning: its fresh row with a toast, or back to the list."""
    if request.htmx:
        learning = learnings_ranked(active=None, include_hurting=True).get(pk=learning.pk)
        response = render(request, "feedback/learnings.html#row", {"learning": learning})
        return toast(response, message)
    messages.success(request, message)
    return redirect(safe_next(request, reverse("feedback:learnings")))


@require_POST
@capability_required("learnings.manage")
def learning_keep_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Keep a hurting learning in the agent's list: the manager has looked and decided."""
    learning = learning_keep(learning=get_object_or_404(Learning, pk=pk), user=request.user)
    message = f"“{learning.title}” stays in the agent's list."
    return _learning_changed(request, learning, message)


@require_POST
@capability_required("learnings.manage")
def learning_active(request: HttpRequest, pk: int) -> HttpResponse:
    """Deactivate (retire) or reactivate one learning."""
    learning = get_object_or_404(Learning, pk=pk)
    form = LearningActiveForm(request.POST)
    if not form.is_valid():
        if request.htmx:
            return HttpResponse("Choose active or inactive.", status=400)
        messages.error(request, "Choose active or inactive.")
        return _learnings_page(request, status=400)
    learning_set_active(learning=learning, is_active=form.cleaned_data["is_active"])
    message = f"“{learning.title}” is {'active' if learning.is_active else 'inactive'}."
    return _learning_changed(request, learning, message)


def _plain(value):
    return value.isoformat() if hasattr(value, "isoformat") else value


def csv_cell(value) -> object:
    """One exported value as a safe CSV cell: text that a spreadsheet would run is escaped."""
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        value = "; ".join(str(item) for item in value)
    return spreadsheet_safe(_plain(value))


def _csv_chunk(rows: list[list], *, header: bool = False) -> str:
    lines = csv_lines([EXPORT_FIELDS]) if header else ""
    return lines + csv_lines([csv_cell(value) for value in row] for row in rows)


def _jsonl_chunk(rows: list[list], *, header: bool = False) -> str:
    return "".join(
        json.dumps({key: _plain(value) for key, value in zip(EXPORT_FIELDS, row, strict=True)})
        + "\n"
        for row in rows
    )


def _export_pages(render, filters: dict) -> Iterator[str]:
    """The export, page by page; an empty one still has its CSV header."""
    first = True
    for page in feedback_export_pages(**filters):
        yield render(page, header=first)
        first = False
    if first:
        yield render([], header=True)


@require_GET
@capability_required("feedback.export")
@reads_from_replica
def export(request: HttpRequest) -> HttpResponse:
    """Stream every feedback entry with its outcome as CSV or JSON Lines (for training)."""
    form = ExportForm(request.GET)
    if not form.is_valid():
        return HttpResponse(
            json.dumps(form.errors.get_json_data()), status=400, content_type="application/json"
        )
    data = form.cleaned_data
    since = timezone.now() - timedelta(days=data["days"]) if data["days"] else None
    filters = {"since": since, "action_type": data["action_type"], "kind": data["kind"]}
    render = _csv_chunk if data["format"] == "csv" else _jsonl_chunk
    return download(
        request, name="feedback", file=data["format"], parts=lambda: _export_pages(render, filters)
    )
