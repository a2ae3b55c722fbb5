"""Browser tests of the dashboards on the demo data: range switch, refresh, rating, screenshots.

One test seeds the demo organisation (the same data as ``make run``) and walks the three
dashboards, so the seeding cost is paid once.
"""

from __future__ import annotations

import pytest
from django.core.management import call_command

from apps.demo.constants import DEMO_PASSWORD

pytestmark = pytest.mark.e2e


def test_three_dashboards_on_the_demo_data(fresh_org, page, login, org_url, screenshot):
    call_command("seed_demo", org=fresh_org.slug, no_progress=True, stdout=None)

    # The rep: numbers, chart, outputs to rate, and the HTMX range switch.
    login(page, fresh_org, "rory", DEMO_PASSWORD)
    page.goto(org_url(fresh_org, "/dashboards/me/"))
    assert page.locator("h1").inner_text() == "My dashboard"
    assert page.locator('[data-stat="success_rate"] .value').inner_text().endswith("%")
    assert page.locator("#dashboard-body svg.chart").count() == 1
    screenshot(page, "dashboards-rep")

    page.click("text=Last 90 days")
    page.wait_for_url("**period=90d")
    page.wait_for_selector('.range-switch a.active:has-text("Last 90 days")')
    assert page.locator("#dashboard-body").count() == 1
    assert page.locator("header.topbar").count() == 1  # only the body was swapped

    form = page.locator("#awaiting-rating .rating-form").first
    form.locator('button[value="1"]').click()
    page.wait_for_selector('#awaiting-rating .rating-form button[value="1"][aria-pressed="true"]')

    # The manager: team tables, calibration plots, approvals, pattern analytics.
    page.context.clear_cookies()
    login(page, fresh_org, "maria", DEMO_PASSWORD)
    page.goto(org_url(fresh_org, "/dashboards/team/"))
    assert page.locator("#by-rep tbody tr").count() >= 2
    assert page.locator("#calibration svg.chart").count() >= 1
    assert page.locator("#patterns tbody tr").count() >= 4
    screenshot(page, "dashboards-team")

    page.click("text=Refresh now")
    page.wait_for_selector("text=Numbers computed just now")

    # The executive: read-only, pipeline and revenue, autonomy, goals, a year of trends.
    page.context.clear_cookies()
    login(page, fresh_org, "erin", DEMO_PASSWORD)
    page.goto(org_url(fresh_org, "/dashboards/executive/"))
    assert page.locator('[data-stat="open_influenced_amount"] .value').inner_text().startswith("$")
    assert page.locator("#dashboard-body form[method=post]").count() == 0
    screenshot(page, "dashboards-executive")
    page.click("text=Last 12 months")
    page.wait_for_url("**period=365d")
    page.wait_for_selector('.range-switch a.active:has-text("Last 12 months")')
    screenshot(page, "dashboards-executive-year")
