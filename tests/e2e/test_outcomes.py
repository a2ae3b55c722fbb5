"""The outcomes list and the calibration page in a real browser, on demo data."""

from __future__ import annotations

import random

import pytest
from django.utils import timezone

from apps.crm import demo as crm_demo
from apps.demo.context import DemoContext
from apps.outcomes import demo as outcomes_demo
from tests.factories.users import UserFactory

pytestmark = pytest.mark.e2e


@pytest.fixture
def demo_org(fresh_org):
    users = {
        "maria": UserFactory(
            username="maria", role="manager", first_name="Maria", last_name="Lind"
        ),
        "rory": UserFactory(username="rory", role="rep", first_name="Rory", last_name="Reyes"),
        "sam": UserFactory(username="sam", role="rep", first_name="Sam", last_name="Okafor"),
    }
    ctx = DemoContext(
        org=fresh_org, scale=1, now=timezone.now(), rng=random.Random("e2e"), users=users
    )
    crm_demo.seed(ctx)
    outcomes_demo.seed(ctx)
    return fresh_org


def test_manager_reads_the_reliability_diagrams(demo_org, page, login, org_url, screenshot):
    login(page, demo_org, "maria")
    page.click("nav.mainnav >> text=Outcomes")
    page.wait_for_url("**/outcomes/")
    page.click('nav[aria-label="Outcomes"] >> text=Calibration')
    page.wait_for_url("**/outcomes/calibration/")
    assert page.locator("nav.mainnav a.active").inner_text() == "Outcomes"
    assert page.locator("svg.reliability").count() == 4
    assert page.locator("svg.reliability .diagonal").count() == 4
    assert "Over-confident" in page.locator(".verdict").first.inner_text()
    screenshot(page, "outcomes-calibration")


def test_manager_filters_outcomes_by_status_without_a_reload(
    demo_org, page, login, org_url, screenshot
):
    login(page, demo_org, "maria")
    page.goto(org_url(demo_org, "/outcomes/"))
    screenshot(page, "outcomes-list")
    page.click(".status-tabs >> text=Expired")
    page.wait_for_url("**/outcomes/?status=expired")
    badges = page.locator("#outcome-results tbody .badge").all_inner_texts()
    assert badges and set(badges) == {"Expired"}
    page.select_option("select[name=action_type]", "email_sent")
    page.wait_for_url("**action_type=email_sent**")
    assert "status=expired" in page.url
    screenshot(page, "outcomes-list-expired")
    page.click("#outcome-results tbody tr >> nth=0 >> a")
    page.wait_for_url("**/outcomes/*/")
    assert page.locator("text=What came of it").is_visible()
    screenshot(page, "outcomes-detail")


def test_an_outcome_shows_its_history_and_a_reply_its_thread_at_both_sizes(
    demo_org, page, login, org_url, screenshot
):
    from apps.crm.models import Account, Interaction
    from apps.outcomes.models import OutcomeRecord
    from apps.outcomes.services import outcome_correct

    record = OutcomeRecord.objects.order_by("pk").first()
    outcome_correct(outcome=record, actor="agent:prod", changes={"output_text": "Corrected."})
    account = Account.objects.get(pk=record.account_id)
    Interaction.objects.create(
        account=account,
        channel="email",
        direction="inbound",
        occurred_at=timezone.now(),
        summary="Thanks, let's talk Tuesday.",
        contact="dana@acme.test",
        in_reply_to=record.external_id,
        thread_id="thr-1",
    )
    login(page, demo_org, "maria")
    for width, height in [(1280, 800), (390, 844)]:
        page.set_viewport_size({"width": width, "height": height})
        page.goto(org_url(demo_org, f"/outcomes/{record.pk}/"))
        assert page.locator("text=Corrected by agent:prod").is_visible()
        screenshot(page, f"outcome-history-{width}")
        page.goto(org_url(demo_org, f"/accounts/{account.pk}/"))
        assert page.locator(f"text=in reply to {record.external_id}").first.is_visible()
        screenshot(page, f"timeline-reply-{width}")
