"""The approval pages: queue, HTMX and plain decisions, bulk approve, history, detail."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from apps.approvals.models import ActionEvent, ProposedAction
from apps.approvals.services import action_decide
from tests.factories.approvals import PendingActionFactory
from tests.factories.crm import AccountFactory

QUEUE = "/approvals/"
HTMX = {"HTTP_HX_REQUEST": "true"}


def _decide_url(action) -> str:
    return f"/approvals/{action.pk}/decide/"


def _events(response) -> dict:
    return json.loads(response.headers.get("HX-Trigger", "{}"))


# --- queue -------------------------------------------------------------------------------


def test_the_queue_shows_what_a_manager_needs_to_decide(page_client, manager, pending, deal):
    ProposedAction.objects.filter(pk=pending.pk).update(deal=deal, calibrated_confidence=0.62)

    response = page_client(manager).get(QUEUE)

    assert response.status_code == 200
    html = response.content.decode()
    assert "Acme Robotics" in html
    assert "75,000" in html  # value
    assert "They opened the last email three times." in html  # rationale
    assert "Follow-up" in html  # payload preview
    assert "62 %" in html and "agent said 80 %" in html  # calibrated confidence
    assert "left" in html  # time before expiry
    assert "Amounts from 50,000" in html  # the reason it is held


def test_the_queue_only_lists_pending_actions(page_client, manager, propose):
    held = propose(amount=Decimal("90000"), external_id="held")
    propose(amount=Decimal("10"), external_id="autonomous")
    propose(action_type="contract_send", external_id="blocked")

    html = page_client(manager).get(QUEUE).content.decode()

    assert html.count('class="q-item') == 1
    assert f'id="action-{held.pk}"' in html


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("risk", ["risky", "big", "old"]),
        ("value", ["big", "risky", "old"]),
        ("age", ["old", "risky", "big"]),
    ],
)
def test_the_queue_sorts_by_risk_value_or_age(page_client, manager, account, sort, expected):
    from datetime import timedelta

    from django.utils import timezone

    now = timezone.now()
    PendingActionFactory(
        external_id="old",
        account=account,
        risk=10,
        amount=Decimal("50000"),
        proposed_at=now - timedelta(hours=20),
    )
    PendingActionFactory(
        external_id="big",
        account=account,
        risk=30,
        amount=Decimal("400000"),
        proposed_at=now - timedelta(hours=1),
    )
    PendingActionFactory(
        external_id="risky",
        account=account,
        risk=90,
        amount=Decimal("60000"),
        proposed_at=now - timedelta(hours=5),
    )

    response = page_client(manager).get(QUEUE, {"sort": sort})

    order = [a.external_id for a in response.context["page"].object_list]
    assert order == expected


def test_an_unknown_sort_falls_back_to_risk(page_client, manager, pending):
    response = page_client(manager).get(QUEUE, {"sort": "'; drop table"})

    assert response.status_code == 200
    assert response.context["sort"] == "risk"


def test_the_nav_badge_gets_the_pending_count_as_text(page_client, manager, propose):
    client = page_client(manager)
    assert client.get(QUEUE, {"count": "1"}).content == b""

    propose(amount=Decimal("90000"))
    propose(amount=Decimal("95000"))
    response = client.get(QUEUE, {"count": "1"})

    assert response.content == b"2"
    assert response["Content-Type"].startswith("text/plain")


@pytest.mark.parametrize("who", ["rep", "executive"])
def test_reps_and_executives_cannot_open_the_queue(page_client, request, who):
    response = page_client(request.getfixturevalue(who)).get(QUEUE)

    assert response.status_code == 403


def test_an_anonymous_visitor_is_sent_to_log_in(page_client):
    response = page_client().get(QUEUE)

    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_a_manager_of_another_organisation_does_not_see_our_queue(other_manager_client, pending):
    response = other_manager_client.get(QUEUE)

    assert response.status_code == 200
    assert "Acme Robotics" not in response.content.decode()
    assert response.context["summary"].pending == 0


def test_posting_to_the_queue_is_405(page_client, manager):
    assert page_client(manager).post(QUEUE).status_code == 405


def test_the_queue_runs_a_fixed_number_of_queries(
    page_client, manager, account, django_assert_max_num_queries
):
    client = page_client(manager)
    PendingActionFactory.create_batch(2, account=account)
    with django_assert_max_num_queries(9):
        assert client.get(QUEUE).status_code == 200
    accounts = AccountFactory.create_batch(5)
    for index in range(60):
        PendingActionFactory(account=accounts[index % 5])
    with django_assert_max_num_queries(9):
        response = client.get(QUEUE)
    assert len(response.context["page"].object_list) == 50


# --- deciding on the page ----------------------------------------------------------------


def test_approving_with_htmx_removes_the_item_and_tells_the_page(page_client, manager, pending):
    response = page_client(manager).post(_decide_url(pending), {"decision": "approve"}, **HTMX)

    assert response.status_code == 200
    assert response.content == b""
    events = _events(response)
    assert "approvals-changed" in events
    assert "Approved" in events["toast"]["message"]
    pending.refresh_from_db()
    assert (pending.status, pending.decided_by) == ("approved", manager)
    event = ActionEvent.objects.get(action=pending, kind="approved")
    assert (event.via, event.ip_address) == ("page", "127.0.0.1")


def test_approving_without_htmx_redirects_back_with_a_message(page_client, manager, pending):
    response = page_client(manager).post(
        _decide_url(pending), {"decision": "approve", "next": "/approvals/?sort=age"}, follow=True
    )

    assert response.redirect_chain[-1][0] == "/approvals/?sort=age"
    assert "Approved: email sent for Acme Robotics" in response.content.decode()
    pending.refresh_from_db()
    assert pending.status == "approved"


def test_rejecting_keeps_the_reason(page_client, manager, pending):
    page_client(manager).post(
        _decide_url(pending), {"decision": "reject", "reason": "Wait for the QBR"}, **HTMX
    )

    pending.refresh_from_db()
    assert (pending.status, pending.decision_reason) == ("rejected", "Wait for the QBR")


def test_rejecting_without_a_reason_with_htmx_shows_the_error_in_the_item(
    page_client, manager, pending
):
    response = page_client(manager).post(
        _decide_url(pending), {"decision": "reject", "reason": ""}, **HTMX
    )

    assert response.status_code == 400
    html = response.content.decode()
    assert "Say why you reject it" in html
    assert f'id="action-{pending.pk}"' in html and '<details class="q-reject" open' in html
    pending.refresh_from_db()
    assert pending.status == "pending"


def test_rejecting_without_a_reason_without_htmx_shows_the_form_again(
    page_client, manager, pending
):
    response = page_client(manager).post(_decide_url(pending), {"decision": "reject"})

    assert response.status_code == 400
    assert "Say why you reject it" in response.content.decode()
    assert "Your decision" in response.content.decode()
    pending.refresh_from_db()
    assert pending.status == "pending"


def test_a_late_decision_with_htmx_says_who_decided_first_and_how(
    page_client, manager, admin_user, pending
):
    action_decide(action_id=pending.pk, user=admin_user, decision="reject", reason="Wrong person")

    response = page_client(manager).post(_decide_url(pending), {"decision": "approve"}, **HTMX)

    assert response.status_code == 409
    html = response.content.decode()
    assert "Already rejected by Ada Admin" in html and "Wrong person" in html
    assert "approvals-changed" in _events(response)
    pending.refresh_from_db()
    assert pending.decided_by == admin_user


def test_a_late_decision_without_htmx_says_who_decided_first(
    page_client, manager, admin_user, pending
):
    action_decide(action_id=pending.pk, user=admin_user, decision="approve")

    response = page_client(manager).post(
        _decide_url(pending), {"decision": "reject", "reason": "no"}, follow=True
    )

    assert "Already approved by Ada Admin" in response.content.decode()


@pytest.mark.parametrize("who", ["rep", "executive"])
def test_reps_and_executives_cannot_decide_on_the_page(page_client, request, pending, who):
    response = page_client(request.getfixturevalue(who)).post(
        _decide_url(pending), {"decision": "approve"}, **HTMX
    )

    assert response.status_code == 403
    pending.refresh_from_db()
    assert pending.status == "pending"


def test_a_manager_of_another_organisation_cannot_decide_ours(
    other_manager_client, org, in_org, pending
):
    response = other_manager_client.post(_decide_url(pending), {"decision": "approve"})

    assert response.status_code == 404
    with in_org(org):
        pending.refresh_from_db()
    assert pending.status == "pending"


def test_deciding_with_get_is_405(page_client, manager, pending):
    assert page_client(manager).get(_decide_url(pending)).status_code == 405


def test_a_next_url_to_another_site_is_ignored(page_client, manager, pending):
    response = page_client(manager).post(
        _decide_url(pending), {"decision": "approve", "next": "https://evil.example/"}
    )

    assert response["Location"] == "/approvals/"


# --- bulk --------------------------------------------------------------------------------


def test_bulk_approve_with_htmx_approves_the_selection_and_skips_decided_ones(
    page_client, manager, admin_user, propose
):
    first, second, third = (propose(amount=Decimal("80000")) for _ in range(3))
    action_decide(action_id=third.pk, user=admin_user, decision="reject", reason="no")

    response = page_client(manager).post(
        "/approvals/bulk-approve/", {"ids": [first.pk, second.pk, third.pk]}, **HTMX
    )

    assert response.status_code == 200
    message = _events(response)["toast"]["message"]
    assert message == "Approved 2 actions; 1 had already been decided or expired"
    assert set(ProposedAction.objects.filter(status="approved").values_list("pk", flat=True)) == {
        first.pk,
        second.pk,
    }
    assert ActionEvent.objects.filter(kind="approved", via="bulk").count() == 2


def test_bulk_approve_without_htmx_asks_for_confirmation_first(page_client, manager, propose):
    first, second = (propose(amount=Decimal("80000")) for _ in range(2))
    client = page_client(manager)

    confirm = client.post("/approvals/bulk-approve/", {"ids": [first.pk, second.pk]})

    assert confirm.status_code == 200
    assert "Approve 2 actions?" in confirm.content.decode()
    assert not ProposedAction.objects.filter(status="approved").exists()

    done = client.post(
        "/approvals/bulk-approve/", {"ids": [first.pk, second.pk], "confirmed": "yes"}, follow=True
    )

    assert "Approved 2 actions." in done.content.decode()
    assert ProposedAction.objects.filter(status="approved").count() == 2


@pytest.mark.parametrize("ids", [[], ["abc"]])
def test_bulk_approve_with_a_bad_selection_changes_nothing(page_client, manager, pending, ids):
    response = page_client(manager).post("/approvals/bulk-approve/", {"ids": ids}, **HTMX)

    assert response.status_code == 400
    pending.refresh_from_db()
    assert pending.status == "pending"


def test_reps_cannot_bulk_approve(page_client, rep, pending):
    response = page_client(rep).post("/approvals/bulk-approve/", {"ids": [pending.pk]}, **HTMX)

    assert response.status_code == 403


def test_bulk_approve_cannot_reach_another_organisations_actions(
    other_manager_client, org, in_org, pending
):
    response = other_manager_client.post("/approvals/bulk-approve/", {"ids": [pending.pk]}, **HTMX)

    assert "Approved 0 actions" in _events(response)["toast"]["message"]
    with in_org(org):
        pending.refresh_from_db()
    assert pending.status == "pending"


def test_bulk_approve_with_get_is_405(page_client, manager):
    assert page_client(manager).get("/approvals/bulk-approve/").status_code == 405


# --- detail and history ------------------------------------------------------------------


def test_the_detail_page_shows_the_audit_trail(page_client, manager, admin_user, pending):
    action_decide(
        action_id=pending.pk, user=admin_user, decision="reject", reason="Not now", ip="10.0.0.7"
    )

    html = page_client(manager).get(f"/approvals/{pending.pk}/").content.decode()

    assert "Audit trail" in html
    assert "Proposed" in html and "agent:test" in html and "Amounts from 50,000" in html
    assert "Rejected" in html and "Ada Admin" in html and "Not now" in html and "10.0.0.7" in html
    assert "Your decision" not in html  # decided: no forms


def test_the_detail_page_of_another_organisations_action_is_a_404(other_manager_client, pending):
    response = other_manager_client.get(f"/approvals/{pending.pk}/")

    assert response.status_code == 404


def test_reps_cannot_open_an_action(page_client, rep, pending):
    assert page_client(rep).get(f"/approvals/{pending.pk}/").status_code == 403


def test_the_history_lists_decided_actions_with_filters(page_client, manager, admin_user, propose):
    approved = propose(amount=Decimal("80000"), external_id="h-approved")
    rejected = propose(
        amount=Decimal("80000"), external_id="h-rejected", action_type="meeting_request"
    )
    propose(amount=Decimal("80000"), external_id="h-pending")
    blocked = propose(action_type="contract_send", external_id="h-blocked")
    action_decide(action_id=approved.pk, user=manager, decision="approve")
    action_decide(action_id=rejected.pk, user=admin_user, decision="reject", reason="Too pushy")
    client = page_client(manager)

    def listed(**params):
        response = client.get("/approvals/history/", params)
        assert response.status_code == 200
        return {a.external_id for a in response.context["page"].object_list}

    assert listed() == {"h-approved", "h-rejected", "h-blocked"}
    assert listed(status="rejected") == {"h-rejected"}
    assert listed(action_type="meeting_request") == {"h-rejected"}
    assert listed(decided_by="maria") == {"h-approved"}
    assert listed(decided_by="guardrails") == {"h-blocked"}
    assert listed(account="acme") == {"h-approved", "h-rejected", "h-blocked"}
    assert listed(account="nobody") == set()
    assert blocked.status == "blocked"
    assert "Too pushy" in client.get("/approvals/history/").content.decode()


def test_the_history_answers_bad_filters_with_a_400_and_a_message(page_client, manager):
    response = page_client(manager).get("/approvals/history/", {"status": "weird", "since": "soon"})

    assert response.status_code == 400
    html = response.content.decode()
    assert "Unknown status." in html and "Use a date like" in html


def test_the_history_runs_a_fixed_number_of_queries(
    page_client, manager, account, django_assert_max_num_queries
):
    client = page_client(manager)
    PendingActionFactory.create_batch(2, account=account, status="expired")
    with django_assert_max_num_queries(9):
        client.get("/approvals/history/")
    PendingActionFactory.create_batch(70, account=account, status="expired", decided_by=manager)
    with django_assert_max_num_queries(9):
        response = client.get("/approvals/history/")
    assert len(response.context["page"].object_list) == 50


def test_executives_cannot_open_the_history(page_client, executive):
    assert page_client(executive).get("/approvals/history/").status_code == 403


def test_posting_to_the_history_is_405(page_client, manager):
    assert page_client(manager).post("/approvals/history/").status_code == 405


def test_the_counters_refresh_as_a_partial_with_htmx_and_as_the_page_without(
    page_client, manager, pending
):
    client = page_client(manager)

    partial = client.get(QUEUE, {"summary": "1"}, **HTMX)
    full = client.get(QUEUE, {"summary": "1"})

    assert partial.status_code == 200
    assert partial.content.decode().lstrip().startswith('<div class="q-stats"')
    assert "<html" not in partial.content.decode()
    assert "<html" in full.content.decode() and "Approval queue" in full.content.decode()
