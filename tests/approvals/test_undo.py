"""A browser decision can be undone for 10 seconds; the agent sees it only afterwards.

Bulk approval ends with a visible confirmation. Time is moved by setting the stored
``visible_at`` back, the one moment the rule reads.
"""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.approvals.models import ActionEvent, ApprovalSettings, ProposedAction, WebhookDelivery
from apps.approvals.services import action_decide, webhook_attempt

HTMX = {"HTTP_HX_REQUEST": "true"}


def _events(response) -> dict:
    return json.loads(response["HX-Trigger"])


def _window_passes(*actions):
    ProposedAction.objects.filter(pk__in=[a.pk for a in actions]).update(
        visible_at=timezone.now() - timedelta(seconds=1)
    )


def test_a_page_decision_offers_undo_and_the_agent_sees_pending_meanwhile(
    page_client, manager, agent_api, pending
):
    response = page_client(manager).post(
        f"/approvals/{pending.pk}/decide/", {"decision": "approve"}, **HTMX
    )

    toast = _events(response)["toast"]
    assert toast["undo_url"].startswith("/approvals/undo/") and toast["seconds"] == 10
    during = agent_api.get(f"/api/v1/actions/{pending.pk}/").json()
    assert (during["status"], during["decided_by"]) == ("pending", None)
    _window_passes(pending)
    after = agent_api.get(f"/api/v1/actions/{pending.pk}/").json()
    assert (after["status"], after["decided_by"]) == ("approved", "maria")


def test_an_edited_approval_is_hidden_from_the_agent_until_the_window_passes(
    page_client, manager, agent_api, propose
):
    action = propose(amount=Decimal("75000"), payload={"to": "a@b.co", "subject": "Old"})
    page_client(manager).post(
        f"/approvals/{action.pk}/decide/",
        {"decision": "approve", "edited": "1", "field-to": "a@b.co", "field-subject": "New"},
        **HTMX,
    )

    assert (
        agent_api.get(f"/api/v1/actions/{action.pk}/").json()["final_payload"]["subject"] == "Old"
    )
    _window_passes(action)
    assert (
        agent_api.get(f"/api/v1/actions/{action.pk}/").json()["final_payload"]["subject"] == "New"
    )


def test_undo_within_the_window_puts_it_back_and_cancels_the_webhook(
    page_client, manager, pending, django_capture_on_commit_callbacks
):
    ApprovalSettings.objects.update(webhook_url="https://8.8.8.8/hook", webhook_secret="k" * 43)
    client = page_client(manager)
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(f"/approvals/{pending.pk}/decide/", {"decision": "approve"}, **HTMX)
    delivery = WebhookDelivery.objects.get(action=pending)
    assert webhook_attempt(delivery_id=delivery.pk) is None  # not sent inside the window

    undone = client.post(_events(response)["toast"]["undo_url"], **HTMX)

    assert undone.status_code == 200
    pending.refresh_from_db()
    assert (pending.status, pending.decided_by, pending.decided_at) == ("pending", None, None)
    assert ActionEvent.objects.filter(action=pending, kind="undone").count() == 1
    delivery.refresh_from_db()
    assert delivery.status == "cancelled"
    assert webhook_attempt(delivery_id=delivery.pk) is True and delivery.attempts == 0


def test_after_undo_anyone_may_decide_again_once(page_client, manager, admin_user, pending):
    client = page_client(manager)
    response = client.post(f"/approvals/{pending.pk}/decide/", {"decision": "approve"}, **HTMX)
    client.post(_events(response)["toast"]["undo_url"], **HTMX)

    again = page_client(admin_user).post(
        f"/approvals/{pending.pk}/decide/", {"decision": "reject", "reason": "No"}, **HTMX
    )

    assert again.status_code == 200
    pending.refresh_from_db()
    assert (pending.status, pending.decided_by) == ("rejected", admin_user)


def test_undo_after_the_window_is_refused(page_client, manager, agent_api, pending):
    client = page_client(manager)
    response = client.post(f"/approvals/{pending.pk}/decide/", {"decision": "approve"}, **HTMX)
    _window_passes(pending)

    late = client.post(_events(response)["toast"]["undo_url"], **HTMX)

    assert late.status_code == 409
    assert "Too late to undo" in _events(late)["toast"]["message"]
    pending.refresh_from_db()
    assert pending.status == "approved"


def test_nobody_can_undo_someone_elses_decision(page_client, manager, admin_user, pending):
    response = page_client(manager).post(
        f"/approvals/{pending.pk}/decide/", {"decision": "approve"}, **HTMX
    )

    other = page_client(admin_user).post(_events(response)["toast"]["undo_url"], **HTMX)

    assert other.status_code == 409
    pending.refresh_from_db()
    assert (pending.status, pending.decided_by) == ("approved", manager)


def test_api_decisions_are_final_at_once(manager_api, agent_api, pending):
    manager_api.post(
        f"/api/v1/actions/{pending.pk}/decision/", {"decision": "approve"}, format="json"
    )

    assert agent_api.get(f"/api/v1/actions/{pending.pk}/").json()["status"] == "approved"


def test_bulk_approve_confirms_how_many_and_can_be_undone(page_client, manager, propose):
    actions = [propose(amount=Decimal("75000")) for _ in range(3)]
    client = page_client(manager)

    done = client.post(
        "/approvals/bulk-approve/",
        {"ids": [a.pk for a in actions], "confirmed": "yes"},
        follow=True,
    )

    html = done.content.decode()
    assert "Approved 3 actions." in html
    assert "Changed your mind?" in html and 'action="/approvals/undo/"' in html
    client.post("/approvals/undo/", {"ids": [a.pk for a in actions]})
    assert ProposedAction.objects.filter(status="pending").count() == 3


def test_undo_is_for_approvers_only_and_a_get_is_405(page_client, rep, manager, pending):
    assert page_client(rep).post("/approvals/undo/", {"ids": [pending.pk]}).status_code == 403
    assert page_client(manager).get("/approvals/undo/").status_code == 405


def test_undo_cannot_reach_another_organisations_decision(
    other_manager_client, org, in_org, page_client, manager, pending
):
    page_client(manager).post(f"/approvals/{pending.pk}/decide/", {"decision": "approve"}, **HTMX)

    response = other_manager_client.post("/approvals/undo/", {"ids": [pending.pk]}, **HTMX)

    assert response.status_code == 409
    with in_org(org):
        pending.refresh_from_db()
    assert pending.status == "approved"


@pytest.mark.parametrize("ids", [["x"], []])
def test_undo_with_bad_ids_changes_nothing(page_client, manager, pending, ids):
    action_decide(action_id=pending.pk, user=manager, decision="approve", undoable=True)

    response = page_client(manager).post("/approvals/undo/", {"ids": ids}, **HTMX)

    assert response.status_code == 409
    pending.refresh_from_db()
    assert pending.status == "approved"


def test_the_agents_list_filter_agrees_during_the_undo_window(
    page_client, manager, agent_api, pending
):
    page_client(manager).post(f"/approvals/{pending.pk}/decide/", {"decision": "approve"}, **HTMX)

    def listed(status: str) -> list[int]:
        return [
            row["id"]
            for row in agent_api.get(f"/api/v1/actions/?status={status}").json()["results"]
        ]

    assert listed("pending") == [pending.pk] and listed("approved") == []
    _window_passes(pending)
    assert listed("pending") == [] and listed("approved") == [pending.pk]
