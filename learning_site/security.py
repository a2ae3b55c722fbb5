"""Login rate limiting and API throttling.

Failed logins are recorded by django-axes in the organisation's own schema (its tables are
tenant tables), so a lockout in one organisation never touches the same username in
another. API calls are throttled per API key; the throttle's cache keys are prefixed with
the schema by ``django_tenants.cache.make_key``.
"""

from __future__ import annotations

import time

from axes.backends import AxesStandaloneBackend
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.core.cache import cache
from django.forms.utils import ErrorDict
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle


class LoginRateLimitBackend(AxesStandaloneBackend):
    """Refuses sign-in while the username is locked out from this client address.

    Authentication without a request (``Client.login`` in tests, a shell) has no client to
    rate-limit, so it passes through to the next backend instead of failing.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def client_ip(request: HttpRequest) -> str | None:
    """The client's address: REMOTE_ADDR, or the X-Forwarded-For entry added by the last
    of ``TRUSTED_PROXY_COUNT`` proxies in front of us."""
    proxies = settings.TRUSTED_PROXY_COUNT
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies and forwarded:
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if len(hops) >= proxies:
            return hops[-proxies]
    return request.META.get("REMOTE_ADDR") or None


def lockout_message() -> str:
    minutes = max(1, int(settings.AXES_COOLOFF_TIME.total_seconds() // 60))
    return f"Too many failed sign-in attempts. Try again in {minutes} minutes."


def login_lockout_response(request: HttpRequest, original_response=None, credentials=None):
    """The sign-in page again, with the lockout explained, as 429 Too Many Requests.

    Unknown usernames are locked out exactly like real ones, so the page reveals nothing
    about which accounts exist.
    """
    username = (credentials or {}).get("username") or request.POST.get("username", "")
    form = AuthenticationForm(request, initial={"username": username})
    form._errors = ErrorDict({"__all__": form.error_class([lockout_message()])})
    response: HttpResponse = render(
        request,
        "registration/login.html",
        {"form": form, "next": request.POST.get("next", "")},
        status=429,
    )
    response["Retry-After"] = str(int(settings.AXES_COOLOFF_TIME.total_seconds()))
    return response


class ApiKeyRateThrottle(BaseThrottle):
    """One request budget per API key (agent or personal), keyed on the key's public prefix.

    Calls signed in by session are counted per user and anonymous calls per address. Rates
    come from ``settings.API_THROTTLE_RATES`` at request time, so they can be tuned by
    environment and overridden in tests. A fixed-window counter (one cache increment per
    request) rather than DRF's timestamp history, so the cost does not grow with the rate.
    """

    def allow_request(self, request, view) -> bool:
        scope, ident = self._scope_and_ident(request)
        rate = settings.API_THROTTLE_RATES.get(scope)
        if not rate:
            return True
        limit, window = SimpleRateThrottle.parse_rate(None, rate)
        now = time.time()
        window_start = int(now // window) * window
        key = f"throttle:{scope}:{ident}:{window_start}"
        cache.add(key, 0, timeout=window + 1)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=window + 1)
            count = 1
        self.retry_after = window_start + window - now
        return count <= limit

    def wait(self) -> float | None:
        return getattr(self, "retry_after", None)

    @staticmethod
    def _scope_and_ident(request) -> tuple[str, str]:
        prefix = getattr(request.auth, "prefix", None)
        if prefix:
            return "key", prefix
        user = request.user
        if user is not None and user.is_authenticated and getattr(user, "pk", None):
            return "user", str(user.pk)
        return "anon", client_ip(request) or "unknown"
