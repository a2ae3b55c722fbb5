"""A manager reads an email in full, edits its body in the queue and approves the edit;
the agent then executes the edited version. Also: the new pages at desktop and phone
sizes, and axe-core finds nothing serious on them."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect
from rest_framework.test import APIClient

from apps.approvals.models import ApprovalNotice, ProposedAction
from apps.approvals.notifications import approvers_notify, link_for
from apps.approvals.services import action_propose
from apps.users.services import api_key_create
from tests.e2e.conftest import axe_blocking
from tests.factories.crm import AccountFactory, DealFactory
from tests.factories.users import UserFactory

pytestmark = pytest.mark.e2e

BODY = "Hi Priya,\n\nAs promised, the proposal for 200 seats is attached.\n\nBest,\nAlex"


# What this work added; the shared layout and base badges are checked by the a11y suite.
NEW_PARTS = {
    "queue": [".r-action", ".q-edit", ".q-undo-banner"],
    "detail": [".r-action", ".trail-changes", ".a-decide"],
    "delegation": ["main"],
    "email-link": ["main"],
}


def _serious(page, part: str) -> list:
    return axe_blocking(page)  # the whole page, with what this part added


def _email(account_name: str = "Cedar Health") -> ProposedAction:
    account = AccountFactory(name=account_name)
    deal = DealFactory(account=account, amount=Decimal("95000"), stage="proposal")
    action, _ = action_propose(
        external_id=f"e2e-edit-{account_name}",
        action_type="email_sent",
        account=account,
        deal=deal,
        amount=Decimal("64000"),
        confidence=0.8,
        payload={
            "to": "priya.nair@cedar.example",
            "subject": "Pricing for 200 seats",
            "body": BODY,
        },
        rationale="Priya asked for pricing twice this week.",
        proposed_by="agent:northwind",
    )
    return action


def test_a_manager_edits_an_email_body_in_the_queue_and_the_agent_gets_the_edit(
    fresh_org, page, login, org_url, screenshot, live_server_port
):
    UserFactory(username="maria", role="manager", first_name="Maria", last_name="Lind")
    action = _email()
    discount_account = AccountFactory(name="Granite Bank")
    action_propose(
        external_id="e2e-edit-discount",
        action_type="discount_offer",
        account=discount_account,
        deal=DealFactory(account=discount_account, amount=Decimal("120000")),
        amount=Decimal("120000"),
        discount_pct=Decimal("15"),
        payload={"to": "cfo@granite.example", "terms": "15 % off a 3-year renewal"},
        proposed_by="agent:northwind",
    )
    agent_key = api_key_create(name="agent")[1]
    login(page, fresh_org, "maria")
    page.goto(org_url(fresh_org, "/approvals/?sort=value"))
    item = page.locator(f"#action-{action.pk}")

    item.locator(".q-rendered > summary").click()
    expect(item.locator(".r-field-body dd")).to_have_text(BODY)
    screenshot(page, "approvals-rendered-queue")
    assert _serious(page, "queue") == []
    item.locator("[data-edit]").click()
    body = item.locator(f"#edit-{action.pk}-body")
    body.fill(
        "Hi Priya,\n\nThe proposal for 200 seats is attached, with the onboarding plan.\n\nAlex"
    )
    screenshot(page, "approvals-edit-in-queue")
    item.locator("[data-approve-edited]").click()
    page.wait_for_selector(f"#action-{action.pk}", state="detached")
    expect(page.locator("#toast")).to_contain_text("Approved with your edits")

    # The agent sees the decision once the 10-second undo window has passed.
    ProposedAction.objects.filter(pk=action.pk).update(
        visible_at=timezone.now() - timedelta(seconds=1)
    )
    agent = APIClient(HTTP_HOST=f"{fresh_org.slug}.localhost")
    agent.credentials(HTTP_AUTHORIZATION=f"Bearer {agent_key}")
    data = agent.get(f"/api/v1/actions/{action.pk}/").json()
    assert data["status"] == "approved" and data["edited"] is True
    assert data["final_payload"]["body"] == (
        "Hi Priya,\n\nThe proposal for 200 seats is attached, with the onboarding plan.\n\nAlex"
    )
    assert data["payload"]["body"] == BODY

    page.goto(org_url(fresh_org, f"/approvals/{action.pk}/"))
    expect(page.locator(".trail-changes")).to_contain_text("+ The proposal for 200 seats")
    screenshot(page, "approvals-detail-edited")
    assert _serious(page, "detail") == []


@pytest.mark.parametrize(("width", "height"), [(1280, 800), (390, 844)])
def test_the_new_pages_look_right_and_pass_axe(
    fresh_org, browser, login, org_url, screenshot, width, height
):
    UserFactory(
        username="maria",
        role="manager",
        first_name="Maria",
        last_name="Lind",
        email="maria@example.com",
    )
    UserFactory(username="rory", role="rep", first_name="Rory", last_name="Rep")
    action = _email()
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        login(page, fresh_org, "maria")
        for name, path in [
            ("queue", "/approvals/"),
            ("detail", f"/approvals/{action.pk}/"),
            ("delegation", "/approvals/delegation/"),
        ]:
            page.goto(org_url(fresh_org, path))
            if name == "queue":
                page.locator(".q-rendered > summary").first.click()
            screenshot(page, f"approvals-{name}-{width}")
            assert _serious(page, name) == [], name
        from django.db import connection

        connection.set_tenant(fresh_org)
        approvers_notify()
        notice = ApprovalNotice.objects.get(recipient__username="maria")
        path = link_for(notice.pk, "reject", base="")
        page.goto(org_url(fresh_org, path))
        expect(page.locator("h1")).to_contain_text("Reject email sent for Cedar Health?")
        screenshot(page, f"approvals-email-link-{width}")
        assert _serious(page, "email-link") == []
        assert ProposedAction.objects.get(pk=action.pk).status == "pending"
    finally:
        context.close()
