"""The page behind a one-click rating link from an email (see ``email_links``)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from apps.feedback.email_links import LinkInvalid, LinkStale, read_rating_token
from apps.feedback.forms import InlineRatingForm
from apps.feedback.models import FeedbackKind, FeedbackSource
from apps.feedback.selectors import with_my_ratings
from apps.feedback.services import feedback_rate
from apps.outcomes.selectors import outcomes_visible_to
from apps.users.models import User
from apps.users.roles import can

TEMPLATE = "feedback/email_rate.html"


def _page(request: HttpRequest, context: dict, status: int = 200) -> HttpResponse:
    response = render(request, TEMPLATE, context, status=status)
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"  # the token never leaves in a Referer
    return response


def _closed(request: HttpRequest, status: int, title: str, message: str, outcome=None):
    return _page(
        request, {"state": "closed", "title": title, "message": message, "outcome": outcome}, status
    )


def _preselected(request: HttpRequest, current: int | None) -> int | None:
    form = InlineRatingForm(request.GET)
    return form.cleaned_data["rating"] if form.is_valid() else current


@require_http_methods(["GET", "POST"])
def email_rate(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows the rating preselected and never rates (mail scanners follow links); POST
    rates the linked action's outcome as the link's recipient, ``feedback_source=email``."""
    try:
        target, pk, user_id = read_rating_token(token)
    except LinkInvalid:
        return _closed(
            request, 404, "This link is not valid", "Check that you opened the whole link."
        )
    except LinkStale:
        return _closed(
            request, 410, "This link has expired", "Rate the output from its page instead."
        )
    rater = User.objects.filter(pk=user_id, is_active=True).first()
    if rater is None or not can(rater, "feedback.rate"):
        return _closed(
            request, 403, "You may no longer rate outputs", "Ask an admin if this is wrong."
        )
    viewer = request.user
    if viewer.is_authenticated and viewer.pk != rater.pk:
        return _closed(
            request,
            403,
            "This link was sent to someone else",
            "Rate the output from its page instead.",
        )
    # target == "action": the outcome recorded when the action was carried out.
    outcome = (
        with_my_ratings(outcomes_visible_to(rater), rater).filter(proposed_action__pk=pk).first()
    )
    if outcome is None:
        return _closed(
            request,
            409,
            "Nothing to rate yet",
            "This action has not been carried out, so it has no result yet. "
            "The link will work once it has.",
        )
    context = {"state": "confirm", "outcome": outcome, "rater": rater}
    if request.method == "POST":
        form = InlineRatingForm(request.POST)
        if not form.is_valid():
            context.update(error=form.errors["rating"][0], selected=outcome.my_inline_rating)
            return _page(request, context, 400)
        entry, created = feedback_rate(
            user=rater,
            outcome=outcome,
            kind=FeedbackKind.INLINE,
            rating=form.cleaned_data["rating"],
            feedback_source=FeedbackSource.EMAIL,
        )
        context.update(state="done", selected=entry.rating, created=created)
        return _page(request, context)
    context["selected"] = _preselected(request, outcome.my_inline_rating)
    return _page(request, context)
