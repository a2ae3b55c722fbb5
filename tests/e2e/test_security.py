"""In a real browser, no page of any role trips the Content Security Policy, and a locked-out
sign-in shows the lockout on the sign-in page."""

import pytest

from tests.factories.users import UserFactory

pytestmark = pytest.mark.e2e


def csp_violations(page) -> list[str]:
    violations: list[str] = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    return violations


@pytest.mark.parametrize("role", ["rep", "manager", "executive", "admin"])
def test_no_page_in_the_navigation_is_blocked_by_the_policy(fresh_org, page, login, org_url, role):
    manager = UserFactory(username="maria", role="manager")
    UserFactory(username=f"{role}-user", role=role, manager=manager if role == "rep" else None)
    violations = csp_violations(page)

    login(page, fresh_org, f"{role}-user")
    links = page.eval_on_selector_all(".mainnav a", "links => links.map(a => a.href)")
    assert links, "the navigation is empty"
    for link in links:
        page.goto(link)
        page.wait_for_load_state("networkidle")
        assert page.evaluate("typeof htmx") == "object", f"htmx did not load on {link}"
    assert violations == []


def test_the_api_docs_render_under_the_policy(fresh_org, page, login, org_url, screenshot):
    UserFactory(username="maria", role="manager")
    violations = csp_violations(page)
    login(page, fresh_org, "maria")
    page.goto(org_url(fresh_org, "/api/docs/"))
    page.wait_for_selector(".swagger-ui .info", timeout=20_000)
    screenshot(page, "api-docs")
    assert violations == []


def test_a_locked_out_sign_in_explains_itself(fresh_org, page, login, screenshot):
    UserFactory(username="maria", role="manager")
    for _ in range(5):
        login(page, fresh_org, "maria", password="not-the-password")
    screenshot(page, "login-locked-out")
    assert "Too many failed sign-in attempts" in page.locator(".form-error").inner_text()
