"""Browser test of the managers' Simulation page: from the navigation, readable at laptop
and phone sizes, no serious or critical axe-core violation."""

import pytest

from apps.simulator.services import simulation_report_store
from tests.e2e.conftest import axe_blocking
from tests.factories.users import UserFactory
from tests.simulator.test_report_page import summary

pytestmark = pytest.mark.e2e
SIZES = {"laptop": (1280, 800), "phone": (390, 844)}


def test_a_manager_opens_the_simulation_report_from_the_navigation(
    fresh_org, page, login, org_url, screenshot
):
    UserFactory(username="maria", role="manager", first_name="Maria")
    simulation_report_store(summary=summary())
    login(page, fresh_org, "maria")
    page.goto(org_url(fresh_org, "/dashboards/team/"))
    page.click("nav >> text=Simulation")
    page.wait_for_url("**/simulator/")
    assert page.locator("h1").inner_text() == "Does review make the agent better?"
    assert page.locator("#weeks tbody tr").count() == 3
    assert page.locator("svg.chart").count() == 2
    for name, (width, height) in SIZES.items():
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(100)
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        screenshot(page, f"simulator-report-{name}")
        assert axe_blocking(page) == []
