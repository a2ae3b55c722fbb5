import zoneinfo

from django.contrib import auth
from django.contrib.auth import middleware as auth_middleware
from django.utils import timezone
from django.utils.functional import SimpleLazyObject

from apps.users.sessions import reading_user_of


class AuthenticationMiddleware(auth_middleware.AuthenticationMiddleware):
    """Django's, reading the signed-in user from the row read with the session
    (``apps.users.sessions``): one statement for both, not two round trips."""

    def process_request(self, request):
        super().process_request(request)
        request.user = SimpleLazyObject(lambda: _user(request))


def _user(request):
    if not hasattr(request, "_cached_user"):
        with reading_user_of(request.session):
            request._cached_user = auth.get_user(request)
    return request._cached_user


class UserTimezoneMiddleware:
    """Times are stored in UTC and shown in the signed-in user's time zone."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        zone = getattr(getattr(request, "user", None), "time_zone", None)
        timezone.deactivate()
        if zone:
            try:
                timezone.activate(zoneinfo.ZoneInfo(zone))
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                pass  # an unknown zone falls back to UTC
        return self.get_response(request)


NUL = "\x00"
NUL_MESSAGE = (
    "The request contains a NUL character (\\x00), which is not allowed in an address or "
    "a form field. Remove it and try again."
)
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _has_nul(request) -> bool:
    if NUL in request.path_info or NUL in request.META.get("QUERY_STRING", ""):
        return True
    if any(NUL in key or NUL in value for key, values in request.GET.lists() for value in values):
        return True
    if request.method == "POST" and request.content_type in _FORM_TYPES:
        for key, values in request.POST.lists():
            if NUL in key or any(NUL in value for value in values):
                return True
    return False


class RejectNulMiddleware:
    """No NUL character in a URL, a query or a form field reaches a view: 400 instead.

    PostgreSQL cannot store or compare text containing NUL, so such a value used in a
    lookup or saved from a raw POST field made a 500. Forms and serializers refuse it
    already; this closes every path, query parameter and hand-read form field at once,
    with a message (JSON under ``/api/``, the page layout elsewhere, a toast for HTMX).
    JSON bodies are left to the serializers (the bulk endpoint strips NULs on purpose).
    It runs before the session is read, so it also drops any cookie carrying a NUL.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        # A cookie with a NUL (the session's, say) is dropped, as if the browser had none:
        # refusing it would refuse every later request of that browser too.
        for name in [name for name, value in request.COOKIES.items() if NUL in name + value]:
            del request.COOKIES[name]
        if _has_nul(request):
            return self._refuse(request)
        return self.get_response(request)

    @staticmethod
    def _refuse(request):
        from django.http import JsonResponse
        from django.shortcuts import render
        from django_htmx.http import trigger_client_event

        if request.path_info.startswith("/api/"):
            return JsonResponse({"detail": NUL_MESSAGE}, status=400)
        if request.headers.get("HX-Request"):
            from django.http import HttpResponse

            response = HttpResponse(NUL_MESSAGE, status=400, content_type="text/plain")
            return trigger_client_event(response, "toast", {"message": NUL_MESSAGE})
        return render(request, "users/bad_request.html", {"message": NUL_MESSAGE}, status=400)
