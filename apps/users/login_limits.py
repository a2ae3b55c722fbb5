"""Sign-in limits: django-axes, with a second limit per client address across usernames.

Axes counts failures per username and address (``AXES_FAILURE_LIMIT``, from
``LOGIN_FAILURE_LIMIT``). Password spraying tries one password on many usernames from one
address and never reaches that limit, so failures are also summed per address over the same
cool-off window, with a higher limit (``LOGIN_FAILURE_LIMIT_PER_ADDRESS``: an office behind
one address shares it). Axes has one failure limit for all its lockout parameters, and a
successful sign-in resets every attempt its parameters match, which would let a sprayer
clear the address's count with their own account; hence this small handler instead of
adding ``ip_address`` to ``AXES_LOCKOUT_PARAMETERS``. The lockout answer is the same page.
"""

from __future__ import annotations

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_failure_limit
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Sum


class LoginAttemptHandler(AxesDatabaseHandler):
    def get_failures(self, request, credentials: dict | None = None) -> int:
        per_username = super().get_failures(request, credentials)
        if self.address_failures(request) >= settings.LOGIN_FAILURE_LIMIT_PER_ADDRESS:
            # Locked for every username from this address until the window passes.
            return max(per_username, get_failure_limit(request, credentials))
        return per_username

    @staticmethod
    def address_failures(request) -> int:
        address = getattr(request, "axes_ip_address", None)
        if not address:
            return 0
        attempts = AccessAttempt.objects.filter(ip_address=address)
        if settings.AXES_COOLOFF_TIME is not None:
            attempts = attempts.filter(attempt_time__gte=get_cool_off_threshold(request))
        return attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0
