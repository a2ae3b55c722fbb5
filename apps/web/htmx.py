"""HTMX glue for every app's views: where to go next, what changed, toasts, who asked.

Pages answer an HTMX request with a fragment plus events in ``HX-Trigger``: the app's
"changed" event (lists listening for it reload) and ``toast`` (the layout shows it, with
an Undo button when it carries ``undo_url``). A plain form post gets a redirect to
``safe_next`` instead.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.http import url_has_allowed_host_and_scheme
from django_htmx.http import trigger_client_event


def safe_next(request: HttpRequest, fallback: str) -> str:
    """The form's or query's ``next`` when it stays on this host, else ``fallback``."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


def toast(
    response: HttpResponse, message: str, *, undo_url: str | None = None, seconds: int = 0
) -> HttpResponse:
    """Show ``message`` in the layout's toast; with ``undo_url``, an Undo button for it."""
    params: dict[str, object] = {"message": message}
    if undo_url:
        params["undo_url"] = undo_url
    if seconds:
        params["seconds"] = seconds
    return trigger_client_event(response, "toast", params)


def changed(response: HttpResponse, *events: str, message: str = "") -> HttpResponse:
    """Tell the page what changed (each event, e.g. ``"approvals-changed"``), and toast."""
    for event in events:
        trigger_client_event(response, event, {})
    return toast(response, message) if message else response


def client_ip(request: HttpRequest) -> str | None:
    """The address the request came from, for the audit trail (the proxy sets REMOTE_ADDR)."""
    return request.META.get("REMOTE_ADDR") or None


class FragmentCsrfCookieMiddleware:
    """An HTMX fragment does not send the CSRF cookie again to a browser that sent it.

    A view rendering a form's token (the rating buttons, say) asks Django's CSRF
    middleware to set the cookie again, to renew its year-long expiry: on every HTMX
    rating, a ``Set-Cookie`` the browser parses and stores for nothing. The pages renew
    it; an HTMX request whose cookie holds the secret in use gets its fragment without.
    A request without the cookie, or whose secret changes (rotated at sign-in), still gets
    it. Listed after Django's CSRF middleware, so it sees the response first.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        secret = request.META.get("CSRF_COOKIE")
        if secret and request.headers.get("HX-Request") == "true":
            if request.COOKIES.get(settings.CSRF_COOKIE_NAME) == secret:
                request.META["CSRF_COOKIE_NEEDS_UPDATE"] = False
        return response
