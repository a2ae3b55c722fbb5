"""HTMX glue for every app's views: where to go next, what changed, toasts, who asked.

Pages answer an HTMX request with a fragment plus events in ``HX-Trigger``: the app's
"changed" event (lists listening for it reload) and ``toast`` (the layout shows it, with
an Undo button when it carries ``undo_url``). A plain form post gets a redirect to
``safe_next`` instead.
"""

from __future__ import annotations

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
