"""Signing in and the signed-in user (apps/users/backends.py): the user read with SQL compiled
once, sessions from before it still signed in, a refused sign-in checked once, and a
session never valid in another organisation."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import PermissionDenied
from django.test import Client

from apps.users.backends import UserBackend
from apps.users.sessions import SessionStore
from tests.conftest import ORG_HOST, OTHER_HOST
from tests.factories.users import UserFactory
from tests.sql import statements_of

PASSWORD = "pw-for-tests"  # the factories' password
PAGE = "/approvals/?count=1"  # a signed-in manager's light request


def _sign_in(username: str, password: str = PASSWORD, host: str = ORG_HOST) -> Client:
    browser = Client(HTTP_HOST=host)
    browser.post("/login/", {"username": username, "password": password})
    return browser


def test_signing_in_names_this_backend_and_each_request_reads_the_user_once(org, manager):
    browser = _sign_in("maria")
    assert browser.session[BACKEND_SESSION_KEY] == "apps.users.backends.UserBackend"
    assert browser.get(PAGE).status_code == 200
    user_reads = [sql for sql in statements_of(lambda: browser.get(PAGE)) if '"users_user"' in sql]
    assert len(user_reads) == 1  # with the session (apps/users/sessions.py)


def test_a_session_signed_in_through_djangos_backend_stays_signed_in(org, manager):
    """Sessions from before UserBackend name django's ModelBackend: not signed out."""
    session = SessionStore()
    session[SESSION_KEY] = str(manager.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = manager.get_session_auth_hash()
    session.save()
    browser = Client(HTTP_HOST=ORG_HOST)
    browser.cookies["ll_session"] = session.session_key
    assert browser.get(PAGE).status_code == 200


@pytest.mark.parametrize("username, password", [("maria", "wrong"), ("nobody", PASSWORD)])
def test_a_refused_sign_in_is_checked_once_and_reported_once(
    org, manager, settings, username, password
):
    settings.AXES_FAILURE_LIMIT = 100
    checked, failed = [], []
    original = type(manager).check_password

    def check_password(user, raw):
        checked.append(user.username)
        return original(user, raw)

    def on_failure(sender, credentials, **kwargs):
        failed.append(credentials["username"])

    user_login_failed.connect(on_failure)
    type(manager).check_password = check_password
    try:
        browser = _sign_in(username, password)
    finally:
        type(manager).check_password = original
        user_login_failed.disconnect(on_failure)
    assert SESSION_KEY not in browser.session
    assert failed == [username]
    assert checked == (["maria"] if username == "maria" else [])


def test_an_inactive_user_is_signed_out(org, manager):
    browser = _sign_in("maria")
    type(manager).objects.filter(pk=manager.pk).update(is_active=False)
    response = browser.get(PAGE)
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_a_session_is_not_a_user_in_another_organisation(org, other_org, in_org, manager):
    """The compiled read runs in the host's organisation: the same user id there is
    someone else (or no one), never this session's user."""
    browser = _sign_in("maria")
    with in_org(other_org):
        UserFactory(username="other-org-user", role="manager")
    stolen = Client(HTTP_HOST=OTHER_HOST)
    stolen.cookies["ll_session"] = browser.cookies["ll_session"].value
    response = stolen.get(PAGE)
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_the_asynchronous_forms_behave_as_the_synchronous_ones(org, manager):
    """A refused sign-in stops here (not checked again by ModelBackend) and the user is
    read the same way, whichever form Django calls."""
    backend = UserBackend()
    with pytest.raises(PermissionDenied):
        async_to_sync(backend.aauthenticate)(None, username="maria", password="wrong")
    assert (
        async_to_sync(backend.aauthenticate)(None, username="maria", password=PASSWORD) == manager
    )
    read = statements_of(lambda: async_to_sync(backend.aget_user)(manager.pk))
    assert read == statements_of(lambda: backend.get_user(manager.pk))
