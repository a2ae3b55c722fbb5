"""The live insight streams (Server-Sent Events): one for browsers (session), one for API
clients (``Authorization: Bearer``). Both carry the same events, filtered by the same rule
(``events.event_visible``), and share the process's one listener (``apps.insights.events``).

A stream re-checks its viewer every ``INSIGHT_STREAM_RECHECK_SECONDS`` (30 s): once the
user is deactivated, loses the right to read insights, signs out, or the key is revoked, the
stream says why and closes. Under WSGI neither stream is served (204: EventSource stops
asking), so a WSGI worker never holds a stream or a listener.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from asgiref.sync import async_to_sync, sync_to_async
from django.conf import settings
from django.contrib.auth import get_user
from django.contrib.auth.views import redirect_to_login
from django.core.handlers.asgi import ASGIRequest
from django.db import close_old_connections
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.urls import reverse
from django_tenants.utils import tenant_context
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework.exceptions import Throttled
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.views import APIView

from apps.insights import events
from apps.insights.selectors import live_severities_for, sees_all_insights
from apps.users.models import ApiKey, User
from apps.users.permissions import HasCapability
from apps.users.roles import can

# (still allowed, sees all) — asked again every RECHECK seconds.
Recheck = Callable[[], Awaitable[tuple[bool, bool]]]


def _sse(event: str, data: dict) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()


def _recheck_seconds() -> float:
    return getattr(settings, "INSIGHT_STREAM_RECHECK_SECONDS", events.RECHECK_SECONDS)


async def _event_stream(
    schema: str,
    reservation,
    *,
    user_pk: int | None,
    sees_all: bool,
    recheck: Recheck,
    live: frozenset[str],
) -> AsyncIterator[bytes]:
    yield b"retry: 3000\n\n"
    next_check = time.monotonic() + _recheck_seconds()
    async for payload in events.subscribe(schema, reservation):
        if time.monotonic() >= next_check:
            allowed, sees_all = await recheck()
            if not allowed:
                yield _sse("closed", {"reason": "You are no longer allowed to see insights."})
                return
            next_check = time.monotonic() + _recheck_seconds()
        if payload is None:
            yield b": keep-alive\n\n"
            continue
        if not events.event_visible(payload, user_pk=user_pk, sees_all=sees_all):
            continue
        if payload.get("kind") == "created" and payload.get("severity") not in live:
            continue  # the viewer chose another channel (or none) for this severity
        if payload.get("id"):
            payload = {**payload, "url": reverse("insights:detail", args=[payload["id"]])}
        yield _sse("insight", payload)


def _too_many(error: events.TooManyStreams) -> HttpResponse:
    response = HttpResponse(str(error), status=429, content_type="text/plain; charset=utf-8")
    response["Retry-After"] = "30"
    return response


def _streaming(content: AsyncIterator[bytes]) -> StreamingHttpResponse:
    response = StreamingHttpResponse(content, content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response


# --- browsers -------------------------------------------------------------------------------


def _session_viewer(request: HttpRequest, tenant) -> tuple[User | None, bool, bool, frozenset[str]]:
    """(user, may read, sees all, severities shown live) for the request's session."""
    try:
        with tenant_context(tenant):
            user = get_user(request)
            if not user.is_authenticated:
                return None, False, False, frozenset()
            live = frozenset(live_severities_for(user))
            return user, can(user, "insights.read"), sees_all_insights(user), live
    finally:
        # A stream lasts long: it must not pin a database connection meanwhile.
        close_old_connections()


def _session_recheck(request: HttpRequest, tenant) -> tuple[bool, bool]:
    """Is the session still signed in, its user active and allowed? Read afresh."""
    try:
        with tenant_context(tenant):
            session = request.session
            if not session.session_key or not session.exists(session.session_key):
                return False, False  # signed out meanwhile
            user = User.objects.filter(pk=session.get("_auth_user_id"), is_active=True).first()
            if user is None:
                return False, False
            return can(user, "insights.read"), sees_all_insights(user)
    finally:
        close_old_connections()


async def stream(request: HttpRequest) -> HttpResponse:
    """Server-Sent Events for the browser: insight changes of this organisation that the
    signed-in user may see. Opened by every page (the layout) of people who read insights."""
    if request.method != "GET":
        return HttpResponse(status=405, headers={"Allow": "GET"})
    tenant = request.tenant
    user, allowed, sees_all, live = await sync_to_async(_session_viewer)(request, tenant)
    if user is None:
        return redirect_to_login(request.get_full_path())
    if not allowed:
        return HttpResponse("Your role is not allowed to open this page.", status=403)
    if not isinstance(request, ASGIRequest):
        # Under a WSGI server an endless stream would hold a worker thread per open tab
        # for ever. 204 tells EventSource to stop reconnecting; the pages work without it.
        return HttpResponse(status=204)
    try:
        reservation = events.reserve_stream((tenant.schema_name, "user", user.pk))
    except events.TooManyStreams as error:
        return _too_many(error)

    async def recheck() -> tuple[bool, bool]:
        return await sync_to_async(_session_recheck)(request, tenant)

    return _streaming(
        _event_stream(
            tenant.schema_name,
            reservation,
            user_pk=user.pk,
            sees_all=sees_all,
            recheck=recheck,
            live=live,
        )
    )


# --- API clients ----------------------------------------------------------------------------


class EventStreamRenderer(BaseRenderer):
    """Lets ``Accept: text/event-stream`` through content negotiation; errors stay JSON."""

    media_type = "text/event-stream"
    format = "event-stream"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        return json.dumps(data).encode() if data is not None else b""


def _key_recheck(key_pk: int) -> tuple[bool, bool]:
    """Is the key still active, and its person (for a personal key) active and allowed?"""
    try:
        key = ApiKey.objects.select_related("user").filter(pk=key_pk).first()
        if key is None or not key.is_active:
            return False, False
        if key.user is None:  # an agent key: the agent's role does not change
            return True, True
        if not key.user.is_active:
            return False, False
        return can(key.user, "insights.read"), sees_all_insights(key.user)
    finally:
        close_old_connections()


async def _reserve(user_key) -> events._Reservation:
    return events.reserve_stream(user_key)


STREAM_EXAMPLE = (
    "retry: 3000\n\n"
    ": keep-alive\n\n"
    "event: insight\n"
    'data: {"kind": "created", "id": 42, "title": "Cedar is about to churn", '
    '"severity": "critical", "pattern_type": "risk_indicator", "status": "pending", '
    '"account_id": 7, "subject": "Cedar Health", "owner_id": 3, "url": "/insights/42/"}\n\n'
)


class InsightStreamView(APIView):
    """``GET /api/v1/insights/stream/``: the browser's live insight events, for API clients."""

    permission_classes = [HasCapability("insights.read")]
    renderer_classes = [JSONRenderer, EventStreamRenderer]

    @extend_schema(
        operation_id="insights_stream",
        summary="Live insight events (Server-Sent Events)",
        description=(
            "A `text/event-stream` that stays open. Each `insight` event is a JSON object "
            "with `kind` (`created` for a new insight of a severity its person chose to see "
            "live — every severity for an agent key —, `resolved`, `reopened`, "
            "`bulk_resolved`), `id`, `title`, `severity`, `pattern_type`, `status`, "
            "`account_id`, `subject`, `owner_id` and `url`: the same events a browser gets, "
            "scoped to the key's role (a rep's personal key hears only about the rep's own "
            "accounts). A comment line (`: keep-alive`) comes at least every 15 seconds. "
            "The stream re-checks the key every 30 seconds and ends with a `closed` event "
            "once it is revoked or its person deactivated. At most 10 open streams per key "
            "holder and server process (429 beyond). Under a WSGI server: 204, no stream."
        ),
        responses={
            (200, "text/event-stream"): OpenApiResponse(
                response=OpenApiTypes.STR,
                description="The event stream.",
                examples=[OpenApiExample("Stream", value=STREAM_EXAMPLE)],
            ),
            204: OpenApiResponse(description="Served by a WSGI server: no live stream."),
            401: OpenApiResponse(description="No or bad key."),
            403: OpenApiResponse(description="The role may not read insights."),
            429: OpenApiResponse(description="Too many open streams."),
        },
    )
    def get(self, request, *args, **kwargs):
        if not isinstance(request._request, ASGIRequest):
            return HttpResponse(status=204)
        user = request.user
        key = request.auth if isinstance(request.auth, ApiKey) else None
        tenant = request._request.tenant
        if key is not None:
            holder = ("key-user", user.pk) if key.user_id else ("agent-key", key.pk)
        else:
            holder = ("user", user.pk)  # a browser session calling the API
        try:
            # The hub lives on the event loop; this view runs in a worker thread.
            reservation = async_to_sync(_reserve)((tenant.schema_name, *holder))
        except events.TooManyStreams as error:
            raise Throttled(wait=30, detail=str(error)) from error

        if key is not None:
            key_pk = key.pk

            async def recheck() -> tuple[bool, bool]:
                return await sync_to_async(_key_recheck)(key_pk)
        else:
            session_request = request._request

            async def recheck() -> tuple[bool, bool]:
                return await sync_to_async(_session_recheck)(session_request, tenant)

        user_pk = getattr(user, "pk", None)
        return _streaming(
            _event_stream(
                tenant.schema_name,
                reservation,
                user_pk=user_pk,
                sees_all=sees_all_insights(user),
                recheck=recheck,
                live=frozenset(live_severities_for(user)),
            )
        )
