"""A manager works the approval queue with the keyboard in a real browser."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from apps.approvals.models import ProposedAction
from apps.approvals.services import action_decide, action_propose
from tests.factories.crm import AccountFactory, DealFactory
from tests.factories.users import UserFactory

pytestmark = pytest.mark.e2e


def _queue(count: int = 4) -> list[ProposedAction]:
    actions = []
    proposals = [
        (
            "email_sent",
            "Cedar Health",
            Decimal("64000"),
            None,
            0.82,
            {"subject": "Pricing for 200 seats", "to": "priya.nair@cedar.example"},
            "Priya asked for pricing twice this week; the proposal is ready.",
        ),
        (
            "discount_offer",
            "Granite Bank",
            Decimal("120000"),
            Decimal("15"),
            0.55,
            {"subject": "A 15 % loyalty discount", "to": "cfo@granite.example"},
            "Renewal is at risk; a competitor offered 12 % off.",
        ),
        (
            "meeting_request",
            "Helix Biotech",
            None,
            None,
            0.74,
            {
                "contact_name": "Luis Ortega",
                "contact_title": "VP Operations",
                "subject": "30 minutes next week?",
            },
            "Luis opened the case study four times.",
        ),
        (
            "escalation",
            "Ion Mobility",
            Decimal("51000"),
            None,
            0.4,
            {"to": "support-lead@ion.example", "summary": "SSO outage complaint"},
            "Negative sentiment in the last two chats.",
        ),
    ]
    for index, (action_type, name, amount, discount, confidence, payload, rationale) in enumerate(
        proposals[:count]
    ):
        account = AccountFactory(name=name)
        deal = DealFactory(account=account, amount=Decimal("95000"), stage="proposal")
        action, _ = action_propose(
            external_id=f"e2e-{index}",
            action_type=action_type,
            account=account,
            deal=deal,
            amount=amount,
            discount_pct=discount,
            confidence=confidence,
            payload=payload,
            rationale=rationale,
            proposed_by="agent:northwind",
        )
        assert action.status == "pending", action.reasons
        actions.append(action)
    # One that is about to expire, to show the countdown colours.
    ProposedAction.objects.filter(pk=actions[-1].pk).update(
        expires_at=timezone.now() + timedelta(minutes=40)
    )
    return actions


def test_a_manager_approves_and_rejects_with_the_keyboard_and_items_leave_the_queue(
    fresh_org, page, login, org_url, screenshot
):
    UserFactory(username="maria", role="manager", first_name="Maria", last_name="Lind")
    actions = _queue()
    login(page, fresh_org, "maria")

    page.goto(org_url(fresh_org, "/approvals/"))
    page.wait_for_selector(".q-item.selected")
    expect(page.locator("#badge-approvals")).to_have_text("4")
    screenshot(page, "approvals-queue")

    first_id = page.locator(".q-item").first.get_attribute("data-action-id")
    page.keyboard.press("j")
    page.keyboard.press("k")
    assert page.locator(".q-item.selected").get_attribute("data-action-id") == first_id
    page.keyboard.press("a")
    page.wait_for_selector(f"#action-{first_id}", state="detached")
    assert page.locator(".q-item").count() == 3
    expect(page.locator("#badge-approvals")).to_have_text("3")
    assert ProposedAction.objects.get(pk=first_id).status == "approved"

    second_id = page.locator(".q-item.selected").get_attribute("data-action-id")
    page.keyboard.press("r")
    page.keyboard.type("Wait for the security review")
    screenshot(page, "approvals-reject-reason")
    page.keyboard.press("Enter")
    page.wait_for_selector(f"#action-{second_id}", state="detached")
    rejected = ProposedAction.objects.get(pk=second_id)
    assert (rejected.status, rejected.decision_reason) == (
        "rejected",
        "Wait for the security review",
    )
    assert page.locator(".q-item").count() == 2
    expect(page.locator(".q-item.selected")).to_have_count(1)  # ready for the next one

    page.keyboard.press("?")
    assert page.locator("#kbd-help").is_visible()
    screenshot(page, "approvals-shortcuts")
    page.keyboard.press("Escape")
    assert {a.pk for a in actions} >= {int(first_id), int(second_id)}


def test_a_manager_sees_who_decided_first_when_someone_was_quicker(
    fresh_org, page, login, org_url, screenshot
):
    UserFactory(username="maria", role="manager", first_name="Maria", last_name="Lind")
    ada = UserFactory(username="ada", role="admin", first_name="Ada", last_name="Moreau")
    actions = _queue(2)
    login(page, fresh_org, "maria")
    page.goto(org_url(fresh_org, "/approvals/?sort=age"))
    page.wait_for_selector(".q-item.selected")

    action_decide(action_id=actions[0].pk, user=ada, decision="reject", reason="Wrong contact")
    page.keyboard.press("a")

    conflict = page.locator(f"#action-{actions[0].pk} .q-conflict-body")
    conflict.wait_for()
    assert "Already rejected by Ada Moreau" in conflict.inner_text()
    screenshot(page, "approvals-conflict")


def test_bulk_approve_history_and_the_action_page_look_right(
    fresh_org, page, login, org_url, screenshot
):
    UserFactory(username="maria", role="manager", first_name="Maria", last_name="Lind")
    actions = _queue()
    login(page, fresh_org, "maria")
    page.goto(org_url(fresh_org, "/approvals/"))
    page.wait_for_selector(".q-item.selected")

    page.keyboard.press("x")
    page.keyboard.press("j")
    page.keyboard.press("x")
    assert page.locator("[data-bulk-count]").inner_text() == "(2)"
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("[data-bulk-button]")
    expect(page.locator(".q-item")).to_have_count(2)
    assert ProposedAction.objects.filter(status="approved").count() == 2

    page.goto(org_url(fresh_org, "/approvals/history/"))
    screenshot(page, "approvals-history")
    assert page.locator("table.data tbody tr").count() == 2

    page.goto(org_url(fresh_org, f"/approvals/{actions[1].pk}/"))
    screenshot(page, "approvals-detail")
    assert "Audit trail" in page.content()
