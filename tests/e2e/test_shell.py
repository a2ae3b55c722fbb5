"""The shell each role sees on an empty organisation: login page, landing page, navigation."""

import pytest

from tests.factories.users import UserFactory

pytestmark = pytest.mark.e2e

LANDING = {
    "rep": "My dashboard",
    "manager": "Team dashboard",
    "executive": "Executive dashboard",
    "admin": "Executive dashboard",
}


def test_login_page(fresh_org, page, org_url, screenshot):
    page.goto(org_url(fresh_org, "/login/"))
    screenshot(page, "shell-login")
    assert page.locator(".auth-card").is_visible()
    assert "Sign in to Fresh Org" in page.locator(".auth-card").inner_text()


@pytest.mark.parametrize("role", list(LANDING))
def test_each_role_lands_on_an_empty_dashboard_with_a_navigation_that_fits(
    fresh_org, page, login, screenshot, role
):
    UserFactory(username=f"the-{role}", role=role)
    login(page, fresh_org, f"the-{role}")
    screenshot(page, f"shell-{role}")

    assert LANDING[role] in page.locator("h1").first.inner_text()
    assert page.locator(".role-pill").inner_text().lower() == role
    links = page.locator(".mainnav a")
    assert links.count() >= 3
    # Every navigation entry is fully visible at a laptop width (nothing cut off).
    last = links.nth(links.count() - 1).bounding_box()
    menu = page.locator(".usermenu").bounding_box()
    assert last["x"] + last["width"] <= menu["x"]
