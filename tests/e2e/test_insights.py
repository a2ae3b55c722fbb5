"""Insights in a real browser, served by uvicorn (ASGI) so that Server-Sent Events stream."""

from __future__ import annotations

import random
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from apps.crm import demo as crm_demo
from apps.demo.context import DemoContext
from apps.insights import demo as insights_demo
from apps.insights.models import Insight
from apps.insights.services import insight_create
from tests.factories.crm import AccountFactory
from tests.factories.insights import InsightFactory
from tests.factories.users import UserFactory
from tests.insights.asgi_server import running_asgi_server

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def asgi_port(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), running_asgi_server() as port:
        yield port


@pytest.fixture
def site(asgi_port):
    def url(tenant, path: str = "/") -> str:
        return f"http://{tenant.slug}.localhost:{asgi_port}{path}"

    return url


@pytest.fixture
def sign_in(site):
    def go(page, tenant, username: str) -> None:
        page.goto(site(tenant, "/login/"))
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", "pw-for-tests")
        page.click("button[type=submit]")
        page.wait_for_load_state("networkidle")

    return go


def _demo_data(tenant, manager, rep):
    ctx = DemoContext(
        org=tenant,
        scale=1,
        now=timezone.now(),
        rng=random.Random("e2e"),
        users={"maria": manager, "rory": rep},
    )
    crm_demo.seed(ctx)
    insights_demo.seed(ctx)


def test_manager_dismisses_an_insight_and_it_disappears(fresh_org, page, sign_in, site, screenshot):
    UserFactory(username="maria", role="manager", first_name="Maria", last_name="Lind")
    InsightFactory(
        account=AccountFactory(name="Cedar Health"), title="Cedar is unhappy", severity="critical"
    )
    InsightFactory(
        account=AccountFactory(name="Juniper Retail"),
        title="Juniper wants pricing",
        pattern_type="buying_signal",
        severity="medium",
    )

    sign_in(page, fresh_org, "maria")
    page.goto(site(fresh_org, "/insights/"))
    expect(page.locator("#badge-insights")).to_have_text("2")
    row = page.locator("tr", has_text="Cedar is unhappy")
    row.locator("select[name=reason]").select_option("already_handled")
    row.locator("button", has_text="Dismiss").click()

    expect(page.locator("tr", has_text="Cedar is unhappy")).to_have_count(0)
    expect(page.locator("#badge-insights")).to_have_text("1")
    expect(page.locator(".stat-critical .value")).to_have_text("0")
    expect(page.locator("#toast")).to_contain_text("Dismissed")
    screenshot(page, "insights-after-dismiss")
    assert Insight.objects.get(title="Cedar is unhappy").dismiss_reason == "already_handled"

    page.locator("#toast button", has_text="Undo").click()
    expect(page.locator("tr", has_text="Cedar is unhappy")).to_have_count(1)
    expect(page.locator("#badge-insights")).to_have_text("2")


def test_a_second_browser_receives_a_new_critical_insight_without_reloading(
    fresh_org, browser, page, sign_in, site, screenshot
):
    UserFactory(username="maria", role="manager", first_name="Maria", last_name="Lind")
    UserFactory(username="mo", role="manager", first_name="Mo", last_name="Salah")
    account = AccountFactory(name="Cedar Health")
    other_context = browser.new_context(viewport={"width": 1360, "height": 900})
    second = other_context.new_page()
    try:
        sign_in(page, fresh_org, "maria")
        sign_in(second, fresh_org, "mo")
        for each in (page, second):
            each.goto(site(fresh_org, "/insights/"))
            expect(each.locator("#live-status")).to_have_text("Live")

        insight_create(
            account=account,
            pattern_type="risk_indicator",
            signal="negative_sentiment_streak",
            severity="critical",
            confidence=0.91,
            title="3 negative interactions in a row (mean sentiment -0.71)",
        )

        for each in (page, second):
            expect(each.locator("tr", has_text="mean sentiment -0.71")).to_be_visible(timeout=2000)
            expect(each.locator("#toast")).to_contain_text("New critical insight", timeout=2000)
        expect(second.locator("#badge-insights")).to_have_text("1")
        expect(second.locator(".stat-critical .value")).to_have_text("1")
        screenshot(second, "insights-live-critical")
    finally:
        other_context.close()


def test_pages_look_right_with_demo_data(fresh_org, page, sign_in, site, screenshot):
    manager = UserFactory(username="maria", role="manager", first_name="Maria", last_name="Lind")
    rep = UserFactory(username="rory", role="rep", manager=manager)
    _demo_data(fresh_org, manager, rep)
    sign_in(page, fresh_org, "maria")

    page.goto(site(fresh_org, "/insights/"))
    screenshot(page, "insights-inbox")
    page.select_option("select[name=type]", "buying_signal")
    expect(page).to_have_url(re.compile(r"type=buying_signal"))
    screenshot(page, "insights-inbox-filtered")

    insight = Insight.objects.filter(status="pending", account__isnull=False).first()
    page.goto(site(fresh_org, f"/insights/{insight.pk}/"))
    page.click("button:has-text('Not useful')")
    expect(page.locator(".feedback-saved")).to_be_visible()
    screenshot(page, "insights-detail")

    page.goto(site(fresh_org, "/insights/report/"))
    screenshot(page, "insights-report")

    page.goto(site(fresh_org, f"/accounts/{insight.account_id}/"))
    expect(page.locator("h1")).to_have_text(insight.account.name)
    screenshot(page, "insights-account")

    page.context.clear_cookies()
    sign_in(page, fresh_org, "rory")
    page.goto(site(fresh_org, "/insights/"))
    screenshot(page, "insights-inbox-rep")
