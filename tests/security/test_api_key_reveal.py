"""Issue 20.11: a new API key is shown once on the page itself, never in a cookie or a log;
a decision made with a personal key someone else created says so in the audit trail."""

from __future__ import annotations

import logging
import re

import pytest

from apps.approvals.models import ActionEvent
from apps.users.models import ApiKey
from apps.users.services import api_key_create
from tests.factories.approvals import PendingActionFactory

RAW_KEY = re.compile(r"ll_[0-9a-f]{8}_[A-Za-z0-9_\-]{20,}")


@pytest.fixture
def admin_client(page_client, admin_user):
    return page_client(admin_user)


def _create_in_admin(admin_client, **data):
    return admin_client.post("/admin/users/apikey/add/", data, follow=True)


def test_new_key_is_shown_on_the_response_page_and_works(admin_client, api_client, rep):
    response = _create_in_admin(admin_client, name="rory laptop", user=rep.pk)

    assert response.status_code == 200
    shown = RAW_KEY.findall(response.content.decode())
    assert len(shown) == 1
    assert "no-store" in response["Cache-Control"]
    assert api_client(shown[0]).get("/api/v1/outcomes/").status_code == 200


def test_new_key_never_travels_in_a_cookie(admin_client, rep):
    # Answered on the POST itself: no redirect, so nothing has to carry the key to a next page.
    response = admin_client.post(
        "/admin/users/apikey/add/", {"name": "rory laptop", "user": rep.pk}
    )

    assert response.status_code == 200
    raw_key = RAW_KEY.findall(response.content.decode())[0]
    assert raw_key not in str(response.cookies)
    assert all(raw_key not in morsel.value for morsel in admin_client.cookies.values())
    # The next page does not show it again.
    again = admin_client.get("/admin/users/apikey/")
    assert raw_key not in again.content.decode()
    assert not RAW_KEY.search(again.content.decode())


def test_new_key_is_not_logged(admin_client, rep, caplog):
    with caplog.at_level(logging.DEBUG):
        response = _create_in_admin(admin_client, name="rory laptop", user=rep.pk)
    raw_key = RAW_KEY.findall(response.content.decode())[0]
    assert raw_key not in caplog.text
    # Nor in the admin's own change log.
    from django.contrib.admin.models import LogEntry

    assert not any(raw_key in str(entry.change_message) for entry in LogEntry.objects.all())


def test_who_created_a_key_is_recorded(admin_client, admin_user, rep):
    _create_in_admin(admin_client, name="rory laptop", user=rep.pk)
    key = ApiKey.objects.get(name="rory laptop")
    assert key.created_by == admin_user
    assert key.user == rep


def test_decision_with_a_key_made_by_someone_else_says_so(
    api_client, page_client, manager, admin_user
):
    _, raw_key = api_key_create(name="for maria", user=manager, created_by=admin_user)
    action = PendingActionFactory()

    response = api_client(raw_key).post(
        f"/api/v1/actions/{action.pk}/decision/", {"decision": "approve"}, format="json"
    )
    assert response.status_code == 200
    event = ActionEvent.objects.get(action=action, kind="approved")
    assert event.actor == manager
    assert event.key_created_by == "ada"

    page = page_client(manager).get(f"/approvals/{action.pk}/").content.decode()
    assert "via key created by ada" in page


def test_decision_with_ones_own_key_does_not_mention_a_creator(api_client, page_client, manager):
    _, raw_key = api_key_create(name="mine", user=manager, created_by=manager)
    action = PendingActionFactory()

    api_client(raw_key).post(
        f"/api/v1/actions/{action.pk}/decision/", {"decision": "approve"}, format="json"
    )
    assert ActionEvent.objects.get(action=action, kind="approved").key_created_by == ""
    assert (
        "key created by"
        not in page_client(manager).get(f"/approvals/{action.pk}/").content.decode()
    )
