"""Signing in with a username and password, and reading the signed-in user of a request."""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied

from apps.users.models import User
from apps.users.sessions import read_with_session
from apps.web.compiled import CompiledGet

# A session's user by id, in SQL compiled once: compiling was half the CPU time of the
# read that every signed-in page and HTMX action starts with (apps/web/compiled.py).
_USER_BY_ID = CompiledGet(lambda: User.objects.all())


class UserBackend(ModelBackend):
    """Django's ModelBackend, with the signed-in user read by ``_USER_BY_ID``.

    The settings list Django's own ModelBackend after this one, so that sessions signed in
    through it stay signed in (a session names the backend that signed it in). A sign-in
    this backend refuses therefore stops here (``PermissionDenied``, which Django reports
    as a failed sign-in as before) rather than being checked, and its password hashed,
    again by the same rules.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None:
            raise PermissionDenied
        return user

    def get_user(self, user_id):
        """The user read with the request's session (``apps.users.sessions``), else read."""
        user = read_with_session(user_id)
        if user is None:
            try:
                user = _USER_BY_ID.get(user_id)
            except User.DoesNotExist:
                return None
        return user if self.user_can_authenticate(user) else None

    # ModelBackend's asynchronous forms do not call the two above: route them through.
    async def aauthenticate(self, request, username=None, password=None, **kwargs):
        return await sync_to_async(self.authenticate)(
            request, username=username, password=password, **kwargs
        )

    async def aget_user(self, user_id):
        return await sync_to_async(self.get_user)(user_id)
