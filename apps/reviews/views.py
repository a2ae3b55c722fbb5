"""Pages: queues, the reviewer's one-item-at-a-time flow, the manager's queue view,
rubrics, corrections and the dataset export."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.feedback.selectors import outcome_for_rating
from apps.reviews.dataset import dataset_download
from apps.reviews.forms import CorrectionForm, ExportForm, QueueForm, RubricForm
from apps.reviews.models import Correction, ReviewItem, Rubric
from apps.reviews.selectors import (
    DISAGREEMENTS_SHOWN,
    disagreements,
    item_for_reviewer,
    next_item,
    queue_agreement,
    queue_for,
    queue_is_assigned,
    queue_progress,
    queues_with_progress,
    recent_corrections,
    reviewer_throughput,
)
from apps.reviews.services import (
    ItemFull,
    correction_record,
    queue_save,
    review_skip,
    review_submit,
    rubric_options,
    rubric_save,
    settlement_record,
)
from apps.users.permissions import capability_required
from apps.users.roles import can
from apps.web.replica import reads_from_replica


def _apply_errors(form, error: ValidationError) -> None:
    for field, messages_ in error.message_dict.items():
        form.add_error(field if field in form.fields else None, messages_)


@require_GET
@capability_required("reviews.review")
def queues(request: HttpRequest) -> HttpResponse:
    """The queues I review in (managers: every queue), with their progress."""
    context = {
        "queues": queues_with_progress(request.user),
        "can_manage": can(request.user, "reviews.manage"),
        "can_export": can(request.user, "feedback.export"),
    }
    return render(request, "reviews/queues.html", context)


def _queue_form_page(request, form, queue=None, status=200) -> HttpResponse:
    return render(request, "reviews/queue_form.html", {"form": form, "queue": queue}, status=status)


@require_http_methods(["GET", "POST"])
@capability_required("reviews.manage")
def queue_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """Create a queue (no pk) or change one: rubrics, entry rule, reviewers, K."""
    queue = queue_for(request.user, pk) if pk else None
    if request.method == "GET":
        initial = QueueForm.initial_for(queue) if queue else None
        return _queue_form_page(request, QueueForm(initial=initial), queue)
    form = QueueForm(request.POST)
    if form.is_valid():
        try:
            queue = queue_save(queue=queue, created_by=request.user, **form.service_kwargs())
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            messages.success(request, f"Queue “{queue.name}” saved.")
            return redirect("reviews:queue", pk=queue.pk)
    return _queue_form_page(request, form, queue, status=400)


@require_GET
@capability_required("reviews.manage")
def queue_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The manager's view of a queue: progress, throughput, agreement, disagreements."""
    return _queue_detail_page(request, queue_for(request.user, pk))


def _queue_detail_page(request, queue, status: int = 200) -> HttpResponse:
    context = {
        "queue": queue,
        "rubrics": list(queue.rubrics.all()),
        "progress": queue_progress(queue, request.user),
        "throughput": reviewer_throughput(queue),
        "agreement": queue_agreement(queue),
        "disagreements": disagreements(queue),
        "corrections": recent_corrections(queue),
        "correction_count": Correction.objects.filter(outcome__review_items__queue=queue).count(),
        "disagreements_shown": DISAGREEMENTS_SHOWN,
        "assigned": queue_is_assigned(queue, request.user),
    }
    return render(request, "reviews/queue_detail.html", context, status=status)


def _rubric_fields(rubrics: list[Rubric], chosen: dict[int, str]) -> list[dict]:
    fields = []
    for index, rubric in enumerate(rubrics):
        options = rubric_options(rubric)
        fields.append(
            {
                "rubric": rubric,
                "index": index,
                "name": f"rubric_{rubric.pk}",
                "options": [
                    {"value": f"{value:g}", "label": label, "key": number}
                    for number, (value, label) in enumerate(options, start=1)
                ],
                "keyed": len(options) <= 9,
                "chosen": chosen.get(rubric.pk, ""),
            }
        )
    return fields


def _review_page(
    request, queue, item, *, chosen=None, correction="", errors=None, status=200
) -> HttpResponse:
    rubrics = list(queue.rubrics.all())
    context = {
        "queue": queue,
        "item": item,
        "fields": _rubric_fields(rubrics, chosen or {}),
        "progress": queue_progress(queue, request.user),
        "correction": correction,
        "errors": errors or {},
    }
    return render(request, "reviews/review.html", context, status=status)


def _reviewer_queue(request, pk: int):
    queue = queue_for(request.user, pk)
    if not queue_is_assigned(queue, request.user):
        raise PermissionDenied("You are not a reviewer of this queue.")
    return queue


@require_GET
@capability_required("reviews.review")
def review(request: HttpRequest, pk: int) -> HttpResponse:
    """One item at a time: the next one I have not reviewed or skipped."""
    queue = _reviewer_queue(request, pk)
    return _review_page(request, queue, next_item(queue, request.user))


@require_POST
@capability_required("reviews.review")
def review_item(request: HttpRequest, pk: int, item_pk: int) -> HttpResponse:
    """Submit my scores (and correction) for an item, or skip it; then the next item."""
    queue = _reviewer_queue(request, pk)
    item = item_for_reviewer(queue, item_pk)
    if request.POST.get("action") == "skip":
        review_skip(item=item, reviewer=request.user)
        messages.info(request, "Skipped.")
        return redirect("reviews:review", pk=queue.pk)
    values = {}
    for rubric in queue.rubrics.all():
        values[rubric.pk] = request.POST.get(f"rubric_{rubric.pk}", "").strip()
    correction = request.POST.get("correction", "")
    try:
        review_submit(item=item, reviewer=request.user, values=values, correction=correction)
    except ValidationError as error:
        return _review_page(
            request,
            queue,
            item,
            chosen=values,
            correction=correction,
            errors=error.message_dict,
            status=400,
        )
    except ItemFull:
        messages.warning(request, "That item already had its reviews; here is the next one.")
        return redirect("reviews:review", pk=queue.pk)
    messages.success(
        request, "Review saved." + (" Correction saved." if correction.strip() else "")
    )
    return redirect("reviews:review", pk=queue.pk)


@require_POST
@capability_required("reviews.manage")
def settle(request: HttpRequest, item_pk: int) -> HttpResponse:
    """Settle a disagreement: the manager's value becomes the item's score."""
    item = get_object_or_404(ReviewItem.objects.select_related("queue"), pk=item_pk)
    rubric_id = request.POST.get("rubric", "")
    rubric = get_object_or_404(Rubric, pk=int(rubric_id) if rubric_id.isdigit() else 0)
    try:
        settlement_record(
            item=item, rubric=rubric, value=request.POST.get("value", ""), user=request.user
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return _queue_detail_page(request, item.queue, status=400)
    messages.success(request, f"Settled {rubric.name} for item {item.pk}.")
    return redirect("reviews:queue", pk=item.queue_id)


def _rubric_page(request, form, rubric=None, status=200) -> HttpResponse:
    context = {
        "form": form,
        "rubric": rubric,
        "rubrics": Rubric.objects.order_by("-is_active", "name"),
    }
    return render(request, "reviews/rubrics.html", context, status=status)


@require_http_methods(["GET", "POST"])
@capability_required("reviews.manage")
def rubrics(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """The organisation's rubrics, and the form to add one (or change the one at pk)."""
    rubric = get_object_or_404(Rubric, pk=pk) if pk else None
    if request.method == "GET":
        initial = None
        if rubric is not None:
            initial = {
                "name": rubric.name,
                "kind": rubric.kind,
                "description": rubric.description,
                "min_value": rubric.min_value,
                "max_value": rubric.max_value,
                "step": rubric.step,
                "labels": "\n".join(rubric.labels),
                "is_active": rubric.is_active,
            }
        return _rubric_page(request, RubricForm(initial=initial), rubric)
    form = RubricForm(request.POST)
    if form.is_valid():
        try:
            saved = rubric_save(rubric=rubric, **form.cleaned_data)
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            messages.success(request, f"Rubric “{saved.name}” saved.")
            return redirect("reviews:rubrics")
    return _rubric_page(request, form, rubric, status=400)


@require_http_methods(["GET", "POST"])
@capability_required("feedback.rate")
def correct(request: HttpRequest, pk: int) -> HttpResponse:
    """Write the output the agent should have produced for any output I may rate."""
    outcome = outcome_for_rating(request.user, pk)
    existing = Correction.objects.filter(outcome=outcome, author=request.user).first()
    if request.method == "POST":
        form = CorrectionForm(request.POST)
        if form.is_valid():
            try:
                correction_record(
                    outcome=outcome, author=request.user, text=form.cleaned_data["correction"]
                )
            except ValidationError as error:
                _apply_errors(form, error)
            else:
                messages.success(request, "Correction saved: it is now an example for the agent.")
                return redirect("reviews:correct", pk=outcome.pk)
        status = 400
    else:
        initial = existing.corrected_text if existing else outcome.output_text
        form, status = CorrectionForm(initial={"correction": initial}), 200
    context = {"outcome": outcome, "form": form, "existing": existing}
    return render(request, "reviews/correct.html", context, status=status)


@require_GET
@capability_required("feedback.export")
@reads_from_replica
def export(request: HttpRequest) -> HttpResponse:
    """The dataset export: the form, and the streamed file when it is submitted."""
    if "file" not in request.GET:
        return render(request, "reviews/export.html", {"form": ExportForm()})
    form = ExportForm(request.GET)
    if not form.is_valid():
        return render(request, "reviews/export.html", {"form": form}, status=400)
    data = form.cleaned_data

    def start(day):
        return timezone.make_aware(datetime.combine(day, time.min)) if day else None

    until = data["until"]
    return dataset_download(
        request,
        file=data["file"],
        queue=data["queue"].pk if data["queue"] else None,
        since=start(data["since"]),
        until=start(until) + timedelta(days=1) if until else None,
        action_type=data["action_type"],
        clone=data["clone"],
    )
