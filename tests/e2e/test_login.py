import pytest

from tests.factories.users import UserFactory

pytestmark = pytest.mark.e2e


def test_manager_signs_in_sees_their_navigation_and_signs_out(
    fresh_org, page, login, org_url, screenshot
):
    UserFactory(username="maria", role="manager", first_name="Maria", last_name="Lind")

    login(page, fresh_org, "maria")
    screenshot(page, "home-manager")
    assert page.locator(".who").inner_text().startswith("Maria Lind")
    assert page.locator(".org-name").inner_text() == fresh_org.name

    page.click("text=Log out")
    page.wait_for_url("**/login/")
    page.goto(org_url(fresh_org, "/"))
    assert "/login/" in page.url


def test_wrong_password_shows_an_error_without_saying_which_part_was_wrong(
    fresh_org, page, login, screenshot
):
    UserFactory(username="maria", role="manager")

    login(page, fresh_org, "maria", password="not-the-password")
    screenshot(page, "login-error")
    assert "enter a correct username and password" in page.locator(".form-error").inner_text()
