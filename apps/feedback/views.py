"""Pages: the rep's review feed and rating, the manager's summary, learnings and export."""

from __future__ import annotations

import csv
import json
from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.feedback.forms import (
    DetailedFeedbackForm,
    ExportForm,
    InlineRatingForm,
    LearningActiveForm,
    LearningFilterForm,
    ReviewFilterForm,
    SummaryFilterForm,
)
from apps.feedback.models import FeedbackEntry, FeedbackKind, Learning
from apps.feedback.selectors import (
    EXPORT_FIELDS,
    feedback_export_rows,
    feedback_summary,
    learnings_ranked,
    outcome_for_rating,
    review_feed,
)
from apps.feedback.services import feedback_rate, learning_set_active
from apps.outcomes.models import ActionType
from apps.users.permissions import capability_required
from apps.users.roles import can
from apps.web.htmx import safe_next, toast

REVIEW_PAGE_SIZE = 20
RATING_LABELS = {-1: "−1", 0: "0", 1: "+1"}


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
    context = {"outcome": outcome, "next": request.POST.get("next", ""), "rating_error": error}
    return render(request, "feedback/_rating.html", context, status=status)


@require_POST
@capability_required("feedback.rate")
def rate(request: HttpRequest, pk: int) -> HttpResponse:
    """Save my inline −1 / 0 / +1 rating; HTMX gets the rating partial back at once."""
    outcome = outcome_for_rating(request.user, pk)
    form = InlineRatingForm(request.POST)
    if not form.is_valid():
        error = form.errors["rating"][0]
        if request.htmx:
            return _rating_response(request, outcome, error=error, status=400)
        return _outcome_page(request, outcome, rating_error=error, status=400)
    entry, _ = feedback_rate(
        user=request.user,
        outcome=outcome,
        kind=FeedbackKind.INLINE,
        rating=form.cleaned_data["rating"],
    )
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
        entry = FeedbackEntry.objects.filter(
            user=request.user, outcome=outcome, kind=FeedbackKind.DASHBOARD
        ).first()
        initial = {}
        if entry is not None:
            initial = {field: getattr(entry, field) for field in DetailedFeedbackForm.base_fields}
        form = DetailedFeedbackForm(initial=initial)
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
    form = DetailedFeedbackForm(request.POST)
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


@require_GET
@capability_required("learnings.manage")
def learnings(request: HttpRequest) -> HttpResponse:
    """Learnings ranked as the agent gets them, with their evidence; (de)activate here."""
    form = LearningFilterForm(request.GET or None, action_types=_action_type_choices())
    valid = not form.is_bound or form.is_valid()
    filters = form.cleaned_data if form.is_bound and valid else {}
    status_filter = filters.get("status") or "active"
    active = {"active": True, "inactive": False, "all": None}[status_filter]
    rows = list(
        learnings_ranked(
            action_type=filters.get("action_type", ""),
            category=filters.get("category", ""),
            active=active,
        )[:200]
    )
    context = {"form": form, "learnings": rows}
    template = "feedback/learnings.html#list" if request.htmx else "feedback/learnings.html"
    return render(request, template, context, status=200 if valid else 400)


@require_POST
@capability_required("learnings.manage")
def learning_active(request: HttpRequest, pk: int) -> HttpResponse:
    """Deactivate or reactivate one learning."""
    learning = get_object_or_404(Learning, pk=pk)
    form = LearningActiveForm(request.POST)
    if not form.is_valid():
        if request.htmx:
            return HttpResponse("Choose active or inactive.", status=400)
        messages.error(request, "Choose active or inactive.")
        return render(
            request,
            "feedback/learnings.html",
            {
                "form": LearningFilterForm(action_types=_action_type_choices()),
                "learnings": list(learnings_ranked(active=None)[:200]),
            },
            status=400,
        )
    learning_set_active(learning=learning, is_active=form.cleaned_data["is_active"])
    message = f"“{learning.title}” is {'active' if learning.is_active else 'inactive'}."
    if request.htmx:
        learning = learnings_ranked(active=None).get(pk=learning.pk)
        response = render(request, "feedback/learnings.html#row", {"learning": learning})
        return toast(response, message)
    messages.success(request, message)
    return redirect(safe_next(request, reverse("feedback:learnings")))


class _Echo:
    """A file-like object whose write returns the line, for csv.writer in a generator."""

    def write(self, value: str) -> str:
        return value


def _csv_lines(rows):
    writer = csv.writer(_Echo())
    yield writer.writerow(EXPORT_FIELDS)
    for row in rows:
        yield writer.writerow(["" if value is None else _plain(value) for value in row.values()])


def _plain(value):
    return value.isoformat() if hasattr(value, "isoformat") else value


def _jsonl_lines(rows):
    for row in rows:
        yield json.dumps({key: _plain(value) for key, value in row.items()}) + "\n"


@require_GET
@capability_required("feedback.export")
def export(request: HttpRequest) -> HttpResponse:
    """Stream every feedback entry with its outcome as CSV or JSON Lines (for training)."""
    form = ExportForm(request.GET)
    if not form.is_valid():
        return HttpResponse(
            json.dumps(form.errors.get_json_data()), status=400, content_type="application/json"
        )
    data = form.cleaned_data
    since = timezone.now() - timedelta(days=data["days"]) if data["days"] else None
    rows = feedback_export_rows(since=since, action_type=data["action_type"], kind=data["kind"])
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    slug = request.tenant.slug
    if data["format"] == "csv":
        response = StreamingHttpResponse(_csv_lines(rows), content_type="text/csv; charset=utf-8")
        filename = f"feedback-{slug}-{stamp}.csv"
    else:
        response = StreamingHttpResponse(_jsonl_lines(rows), content_type="application/x-ndjson")
        filename = f"feedback-{slug}-{stamp}.jsonl"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
