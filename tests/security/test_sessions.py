"""Sessions (apps/users/sessions.py): a row of the organisation's ``users_session`` table,
read with the signed-in user's row in one statement; signed out at once everywhere, never
valid on another organisation's host, and a user changed since is seen at once."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client

from apps.users.models import UserSession
from tests.conftest import ORG_HOST, OTHER_HOST
from tests.sql import statements_of

BADGE = "/approvals/?count=1"  # a signed-in manager's light request
EARLIER = datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)
LATER = datetime.datetime(2999, 1, 1, tzinfo=datetime.UTC)


def _same_browser(client: Client, host: str = ORG_HOST) -> Client:
    """Another client sending ``client``'s session cookie (to ``host``)."""
    copy = Client(HTTP_HOST=host)
    copy.cookies["ll_session"] = client.cookies["ll_session"].value
    return copy


def _signed_out(response) -> bool:
    return response.status_code == 302 and "/login/" in response["Location"]


def test_a_request_reads_its_session_and_its_user_in_one_statement(org, manager, page_client):
    browser = page_client(manager)
    assert browser.get(BADGE).status_code == 200
    statements = statements_of(lambda: browser.get(BADGE))
    read = [sql for sql in statements if "users_session" in sql or '"users_user"' in sql]
    assert len(read) == 1 and "users_session" in read[0] and '"users_user"' in read[0]
    assert UserSession.objects.get().user == manager  # the row names its user


def test_signing_out_ends_the_session_at_once(org, manager, page_client):
    browser = page_client(manager)
    replay = _same_browser(browser)
    assert replay.get(BADGE).status_code == 200
    assert browser.post("/logout/").status_code == 302
    assert _signed_out(replay.get(BADGE))
    assert not UserSession.objects.exists()


def test_a_session_is_not_valid_on_another_organisations_host(org, other_org, manager, page_client):
    browser = page_client(manager)
    assert browser.get(BADGE).status_code == 200
    assert _signed_out(_same_browser(browser, OTHER_HOST).get(BADGE))


@pytest.mark.parametrize("change", ["deactivated", "password", "deleted", "demoted"])
def test_a_change_to_the_user_applies_on_the_next_request(org, manager, page_client, change):
    browser = page_client(manager)
    assert browser.get(BADGE).status_code == 200
    if change == "deactivated":
        manager.is_active = False
    elif change == "password":
        manager.set_password("a-new-password-42")
    elif change == "demoted":
        manager.role = "rep"
    if change == "deleted":
        manager.delete()
        assert not UserSession.objects.exists()  # their sessions go with them
    else:
        manager.save()
    response = browser.get(BADGE)
    if change == "demoted":
        assert response.status_code == 403  # still signed in, as a rep now
    else:
        assert _signed_out(response)


def test_an_expired_session_is_signed_out(org, manager, page_client):
    browser = page_client(manager)
    UserSession.objects.update(expire_date=EARLIER)
    assert _signed_out(browser.get(BADGE))


def test_a_session_from_before_without_its_user_column_still_signs_in(org, manager, page_client):
    """Sessions copied from Django's table by the migration name no user: read apart."""
    browser = page_client(manager)
    UserSession.objects.update(user=None)
    statements = statements_of(lambda: browser.get(BADGE))
    assert browser.get(BADGE).status_code == 200
    assert [sql for sql in statements if '"users_user"' in sql]  # the user, read apart


def test_the_migration_keeps_the_sessions_of_django_s_table(org, manager):
    """What 0003_session runs, on a live and an expired row of ``django_session``."""
    from importlib import import_module

    copy = import_module("apps.users.migrations.0003_session").Migration.operations[-1]
    Session.objects.create(session_key="live" * 8, session_data="x", expire_date=LATER)
    Session.objects.create(session_key="gone" * 8, session_data="x", expire_date=EARLIER)
    with connection.cursor() as cursor:
        cursor.execute(copy.sql)
    assert list(UserSession.objects.values_list("session_key", "user")) == [("live" * 8, None)]
