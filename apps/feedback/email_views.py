"""The page behind a one-click rating link from an email (see ``email_links``)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from apps.feedback.email_links import TARGETS, LinkInvalid, LinkStale, read_rating_token
from apps.users.models import User
from apps.users.roles import can

TEMPLATE = "feedback/email_rate.html"


def _page(request: HttpRequest, context: dict, status: int = 200) -> HttpResponse:
    response = render(request, TEMPLATE, context, status=status)
    response["Cache-Control"] = "no-store"
    # The token never leaves this site in a Referer. Not "no-referrer": with it, browsers
    # send "Origin: null" on the form's POST and Django's CSRF check refuses it.
    response["Referrer-Policy"] = "same-origin"
    return response


def _closed(request: HttpRequest, status: int, title: str, message: str) -> HttpResponse:
    return _page(request, {"state": "closed", "title": title, "message": message}, status)


@require_http_methods(["GET", "POST"])
def email_rate(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows the rating preselected and never saves (mail scanners follow links); POST
    saves it as the link's recipient through the rated object's own service."""
    try:
        name, pk, user_id = read_rating_token(token)
    except LinkInvalid:
        return _closed(
            request, 404, "This link is not valid", "Check that you opened the whole link."
        )
    except LinkStale:
        return _closed(request, 410, "This link has expired", "Rate it from its page instead.")
    target = TARGETS[name]
    rater = User.objects.filter(pk=user_id, is_active=True).first()
    if rater is None or not can(rater, target.capability):
        return _closed(request, 403, "You may no longer rate this", "Ask an admin if wrong.")
    viewer = request.user
    if viewer.is_authenticated and viewer.pk != rater.pk:
        return _closed(
            request, 403, "This link was sent to someone else", "Rate it from its page instead."
        )
    item = target.find(pk, rater)
    if item is None:
        return _closed(request, 409, *target.missing)
    allowed = {value for value, _ in target.choices}
    context = {
        "state": "confirm",
        "rater": rater,
        "choices": target.choices,
        "labels": dict(target.choices),
        **target.describe(item),
    }
    if request.method == "POST":
        value = request.POST.get("rating", "")
        if value not in allowed:
            context.update(error="Choose one of the ratings.", selected=target.current(item))
            return _page(request, context, 400)
        created = target.save(item, rater, value)
        context.update(state="done", selected=value, created=created)
        return _page(request, context)
    preset = request.GET.get("rating", "")
    context["selected"] = preset if preset in allowed else target.current(item)
    return _page(request, context)
