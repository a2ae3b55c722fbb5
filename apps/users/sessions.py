"""Sessions (``SESSION_ENGINE``): Django's database sessions, in the organisation's
``users_session`` table, whose rows name the user signed in on them.

A signed-in request read its session (from Redis, or a query) and then its user (a query):
two round trips, 0.35 ms of every page and HTMX action (bench/run.py). Here the session is
read with its user's row in one statement, and ``UserBackend.get_user`` takes that row
(``read_with_session``) instead of reading the user again. Django's checks of the user are
unchanged: the session's hash of the password, whether the user may still sign in.

A session without a user (before sign-in) reads as Django's do; a user row changed since
cannot be stale, since it is read with the session on every request.
"""

from __future__ import annotations

import contextlib
import logging
from contextvars import ContextVar

from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends import db
from django.core.exceptions import SuspiciousOperation
from django.utils import timezone

from apps.users.models import User, UserSession
from apps.web.compiled import CompiledGet

_SESSION_WITH_USER = CompiledGet(
    lambda: UserSession.objects.select_related("user"), key="session_key"
)
_read: ContextVar[User | None] = ContextVar("user_read_with_session", default=None)


class SessionStore(db.SessionStore):
    user_read: User | None = None  # the user row read with the session, if it names one

    @classmethod
    def get_model_class(cls):
        return UserSession

    def create_model_instance(self, data):
        session = super().create_model_instance(data)
        try:
            session.user_id = int(data[SESSION_KEY])
        except (KeyError, TypeError, ValueError):
            session.user_id = None
        return session

    def _get_session_from_db(self):
        try:
            session = _SESSION_WITH_USER.get(self.session_key)
            if session.expire_date <= timezone.now():
                raise UserSession.DoesNotExist
        except (UserSession.DoesNotExist, SuspiciousOperation) as error:
            if isinstance(error, SuspiciousOperation):  # logged, as Django does
                logging.getLogger(f"django.security.{type(error).__name__}").warning(error)
            self._session_key = None
            return None
        self.user_read = session.user
        return session


@contextlib.contextmanager
def reading_user_of(session):
    """While Django reads the signed-in user of a request with ``session``: the user row
    read with it, for ``read_with_session``."""
    if isinstance(session, SessionStore):
        session.get(SESSION_KEY)  # read, with its user, if it was not yet
        token = _read.set(session.user_read)
    else:
        token = _read.set(None)
    try:
        yield
    finally:
        _read.reset(token)


def read_with_session(user_id) -> User | None:
    """The user ``user_id`` as read with the session of the request, or None."""
    user = _read.get()
    return user if user is not None and user.pk == user_id else None
