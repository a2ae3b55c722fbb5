"""Org admins tune action types and browse outcomes in the Django admin."""

from __future__ import annotations

from tests.factories.outcomes import OutcomeFactory, action_type


def test_an_admin_changes_the_window_of_an_action_type(page_client, admin_user):
    email = action_type("email_sent")
    client = page_client(admin_user)
    assert client.get("/admin/outcomes/actiontype/").status_code == 200
    response = client.post(
        f"/admin/outcomes/actiontype/{email.pk}/change/",
        {
            "code": "email_sent",
            "name": "Email sent",
            "window_hours": 48,
            "signal": "inbound_email",
            "description": "",
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    email.refresh_from_db()
    assert email.window_hours == 48


def test_a_zero_hour_window_is_refused_with_a_form_error(page_client, admin_user):
    email = action_type("email_sent")
    response = page_client(admin_user).post(
        f"/admin/outcomes/actiontype/{email.pk}/change/",
        {"code": "email_sent", "name": "Email sent", "window_hours": 0, "signal": "inbound_email"},
    )
    assert response.status_code == 200  # the form again, with the error
    email.refresh_from_db()
    assert email.window_hours == 24


def test_an_admin_browses_and_filters_outcomes(page_client, admin_user):
    OutcomeFactory(external_id="seen-in-admin")
    client = page_client(admin_user)
    response = client.get("/admin/outcomes/outcomerecord/?status__exact=pending")
    assert response.status_code == 200
    assert "seen-in-admin" in response.content.decode()
    assert client.get("/admin/outcomes/calibrationbin/").status_code == 200


def test_a_manager_cannot_open_the_outcomes_admin(page_client, manager):
    response = page_client(manager).get("/admin/outcomes/outcomerecord/")
    assert response.status_code == 302
