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
