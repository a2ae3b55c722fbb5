"""Times are stored in UTC and shown in the signed-in user's zone."""

from django.utils import timezone

from apps.users.middleware import UserTimezoneMiddleware


class _Request:
    def __init__(self, user):
        self.user = user


def _zone_during_request(user) -> str:
    seen = {}

    def view(request):
        seen["zone"] = timezone.get_current_timezone_name()

    UserTimezoneMiddleware(view)(_Request(user))
    return seen["zone"]


def test_a_users_zone_is_active_while_their_request_runs(rep):
    rep.time_zone = "Europe/Stockholm"
    assert _zone_during_request(rep) == "Europe/Stockholm"


def test_an_unknown_zone_falls_back_to_utc(rep):
    rep.time_zone = "Mars/Olympus"
    assert _zone_during_request(rep) == "UTC"
