"""Browser checks of the pages added or changed for issue 23 (insights engineer): alert
settings, the customer view's order switch, a goal's page, the executive goal charts, the
inbox and the usefulness report. Each is checked with axe-core (no serious or critical
violation) and photographed at 1280x800 and 390x844, on the demo data."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command

from apps.crm.models import Account
from apps.demo.constants import DEMO_PASSWORD
from apps.goals.models import Goal, GoalStatus
from tests.e2e.conftest import axe_blocking

pytestmark = pytest.mark.e2e

VIEWPORTS = {"desktop": (1280, 800), "phone": (390, 844)}


def test_insight_and_goal_pages_are_accessible_and_fit_both_screens(
    fresh_org, browser, org_url, screenshot
):
    call_command("seed_demo", org=fresh_org.slug, no_progress=True, stdout=None)
    account = Account.objects.filter(interactions__isnull=False).order_by("pk").first()
    goal = Goal.objects.filter(status=GoalStatus.ACTIVE).order_by("pk").first()
    pages = [
        ("rory", "/insights/preferences/", "insights-preferences"),
        ("maria", f"/accounts/{account.pk}/?order=oldest", "insights-account-oldest"),
        ("maria", "/insights/", "insights-inbox"),
        ("maria", "/insights/report/", "insights-report"),
        ("maria", f"/goals/{goal.pk}/", "goals-detail"),
        ("erin", "/dashboards/executive/", "dashboards-executive-goals"),
    ]
    problems = {}
    for name, (width, height) in VIEWPORTS.items():
        context = browser.new_context(viewport={"width": width, "height": height}, bypass_csp=True)
        page = context.new_page()
        page.set_default_timeout(15_000)
        signed_in = None
        for username, path, shot in pages:
            if username != signed_in:
                context.clear_cookies()
                page.goto(org_url(fresh_org, "/login/"))
                page.fill("input[name=username]", username)
                page.fill("input[name=password]", DEMO_PASSWORD)
                page.click("button[type=submit]")
                page.wait_for_load_state("networkidle")
                signed_in = username
            response = page.goto(org_url(fresh_org, path))
            assert response.status == 200, path
            page.wait_for_load_state("networkidle")
            screenshot(page, f"{shot}-{name}")
            if path == "/dashboards/executive/":
                page.locator("#goal-history").screenshot(
                    path=str(
                        screenshot(page, f"{shot}-{name}").with_name(f"{shot}-section-{name}.png")
                    )
                )
            overflow = page.evaluate(
                "() => document.querySelector('main').scrollWidth - window.innerWidth"
            )
            if overflow > 0:
                problems[f"{path} ({name})"] = [{"id": "content-wider-than-screen", "px": overflow}]
            found = axe_blocking(page)
            if found:
                problems[f"{path} ({name})"] = found
        context.close()
    assert problems == {}, json.dumps(problems, indent=1)


def test_alert_settings_save_in_the_browser(fresh_org, browser, org_url):
    call_command("create_user", fresh_org.slug, "rita", role="rep", password="pw-for-tests")
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.goto(org_url(fresh_org, "/login/"))
    page.fill("input[name=username]", "rita")
    page.fill("input[name=password]", "pw-for-tests")
    page.click("button[type=submit]")
    page.goto(org_url(fresh_org, "/insights/preferences/"))

    page.check('input[name="critical"][value="live"]')
    page.check('input[name="low"][value="none"]')
    page.click("button:has-text('Save')")

    page.wait_for_selector("text=Saved: this is how new insights will reach you.")
    assert page.is_checked('input[name="critical"][value="live"]')
    assert page.is_checked('input[name="low"][value="none"]')
    assert page.is_checked('input[name="high"][value="live"]')  # the default, unchanged
    context.close()
