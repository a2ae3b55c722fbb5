"""A manager rates an executed action from the one-click link in an approval email."""

from __future__ import annotations

from decimal import Decimal

import pytest

from apps.approvals.models import ApprovalNotice, ProposedAction
from apps.approvals.notifications import approvers_notify, link_for
from apps.approvals.services import action_propose
from apps.feedback.email_links import rating_links
from apps.feedback.models import FeedbackEntry
from tests.e2e.conftest import ARTIFACTS, axe_blocking
from tests.factories.crm import AccountFactory
from tests.factories.outcomes import OutcomeFactory
from tests.factories.users import UserFactory

pytestmark = pytest.mark.e2e

VIEWPORTS = {"laptop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}


def test_the_rating_page_from_an_email_link_looks_right_passes_axe_and_rates(
    fresh_org, page, org_url
):
    maria = UserFactory(username="maria", role="manager", first_name="Maria", last_name="Lind")
    account = AccountFactory(name="Cedar Health")
    action, _ = action_propose(
        external_id="e2e-rate",
        action_type="email_sent",
        account=account,
        amount=Decimal("64000"),
        confidence=0.82,
        payload={"subject": "Pricing for 200 seats", "to": "priya.nair@cedar.example"},
        rationale="Priya asked for pricing twice this week.",
        proposed_by="agent:northwind",
    )
    outcome = OutcomeFactory(
        account=account,
        output_text="Hi Priya,\n\nHere is the pricing for 200 seats you asked for.\n\nBest, Sam",
    )
    ProposedAction.objects.filter(pk=action.pk).update(outcome=outcome)
    link = {
        item["value"]: item["url"] for item in rating_links("action", action.pk, maria.pk, base="")
    }

    page.goto(org_url(fresh_org, link["1"]))  # not signed in, as from a mail client
    assert page.locator("input[name=rating][value='1']").is_checked()
    problems = []
    for label, size in VIEWPORTS.items():
        page.set_viewport_size(size)
        page.wait_for_timeout(50)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"email-rating-{label}.png"), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= size["width"]
        problems += [f"{label}: {rule} ({impact})" for rule, impact, _ in axe_blocking(page)]
    assert problems == []
    assert not FeedbackEntry.objects.exists()  # opening never rates

    page.check("input[name=rating][value='0']")
    page.click("button[type=submit]")
    page.wait_for_selector("[role=status]")
    assert "Thank you: 0 neutral" in page.inner_text("h1")
    entry = FeedbackEntry.objects.get()
    assert (entry.user_id, entry.rating, entry.feedback_source) == (maria.pk, 0, "email")


def test_confirming_an_approval_link_in_a_browser_decides(fresh_org, page, org_url):
    """The approval link page's form posts with an Origin the CSRF check accepts."""
    UserFactory(username="maria", role="manager")
    action, _ = action_propose(
        external_id="e2e-approve",
        action_type="email_sent",
        account=AccountFactory(name="Cedar Health"),
        amount=Decimal("64000"),
        confidence=0.8,
        payload={"subject": "Pricing", "to": "priya.nair@cedar.example"},
        rationale="Priya asked for pricing.",
        proposed_by="agent:northwind",
    )
    approvers_notify()
    notice = ApprovalNotice.objects.get(recipient__username="maria")

    page.goto(org_url(fresh_org, link_for(notice.pk, "approve", base="")))
    with page.expect_navigation() as navigation:
        page.click("button[type=submit]")

    assert navigation.value.status == 200
    assert ProposedAction.objects.get(pk=action.pk).status == "approved"
