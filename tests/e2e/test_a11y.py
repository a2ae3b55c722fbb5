"""Every page in every role's navigation, on a phone and on a laptop, with the demo data:
no page wider than the viewport and no serious or critical axe-core violation.

The pages come from the navigation each role is shown (read from the page itself), so a
page another app adds to the navigation is covered without touching this file. One
browser, one login per role; axe-core is the copy bundled in ``axe-playwright-python``
(nothing is downloaded at run time).
"""

from __future__ import annotations

import os
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection

from apps.demo.constants import DEMO_PASSWORD
from apps.tenancy.models import Organization
from tests.e2e.conftest import ARTIFACTS, axe_blocking

pytestmark = pytest.mark.e2e

VIEWPORTS = {"phone": {"width": 390, "height": 844}, "laptop": {"width": 1280, "height": 800}}
ROLES = {"rep": "rory", "manager": "maria", "executive": "erin", "admin": "ada"}


@pytest.fixture(scope="module")
def demo_org(django_db_setup, django_db_blocker):
    """A committed organisation with the demo data (the live server thread reads it)."""
    slug = f"a11y{os.getpid()}"
    with django_db_blocker.unblock():
        call_command("seed_demo", "--org", slug, "--no-progress", stdout=StringIO())
        yield Organization.objects.get(slug=slug)
        connection.set_schema_to_public()
        Organization.objects.get(slug=slug).delete(force_drop=True)


@pytest.fixture(scope="module")
def signed_in(browser, demo_org, live_server_port):
    """``signed_in(role)`` → a page in a browser context logged in as that role (cached)."""
    contexts = {}

    def open_page(role: str):
        if role not in contexts:
            context = browser.new_context(viewport=VIEWPORTS["laptop"])
            page = context.new_page()
            page.set_default_timeout(15_000)
            if role:
                base = f"http://{demo_org.slug}.localhost:{live_server_port}"
                page.goto(f"{base}/login/")
                page.fill("input[name=username]", ROLES[role])
                page.fill("input[name=password]", DEMO_PASSWORD)
                # Wait for the sign-in to land (under load, "networkidle" can come first).
                with page.expect_navigation():
                    page.click("button[type=submit]")
                assert "/login/" not in page.url, f"{role} could not sign in"
            contexts[role] = page
        return contexts[role]

    yield open_page
    for page in contexts.values():
        page.context.close()


def _check(page, name: str) -> list[str]:
    """Problems found on the page at each width; a screenshot at both (the whole page on a
    laptop, the first screen on a phone, where pages run many screens long)."""
    problems = []
    for label, size in VIEWPORTS.items():
        page.set_viewport_size(size)
        page.wait_for_timeout(50)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(
            path=str(ARTIFACTS / f"a11y-{name}-{label}.png"), full_page=label == "laptop"
        )
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > size["width"]:
            problems.append(f"{name} @{label}: document is {width}px wide: {_overflowing(page)}")
        problems += [
            f"{name} @{label}: {rule} ({impact}) {targets}"
            for rule, impact, targets in axe_blocking(page)
        ]
    return problems


OVERFLOWING = """() => {
  const limit = document.documentElement.clientWidth + 1;
  const out = [];
  const clipped = (el) => {
    for (let up = el.parentElement; up; up = up.parentElement) {
      if (getComputedStyle(up).overflowX !== "visible" && up.getBoundingClientRect().right <= limit) return true;
    }
    return false;
  };
  for (const el of document.querySelectorAll("body *")) {
    const parent = el.parentElement;
    if (el.getBoundingClientRect().right > limit && parent.getBoundingClientRect().right <= limit && !clipped(el)) {
      out.push(el.tagName.toLowerCase() + (el.className ? "." + String(el.className).split(" ").join(".") : ""));
    }
  }
  return out.slice(0, 4);
}"""


def _overflowing(page) -> list[str]:
    """The outermost elements that stick out past the viewport (what to fix)."""
    return page.evaluate(OVERFLOWING)


def _nav_urls(page) -> list[tuple[str, str]]:
    return page.eval_on_selector_all(
        "nav.mainnav a",
        "links => links.map(a => [a.getAttribute('href'), a.firstChild.textContent.trim()])",
    )


@pytest.mark.parametrize("role", list(ROLES))
def test_every_navigation_page_fits_a_phone_and_passes_axe(
    role, signed_in, demo_org, live_server_port
):
    page = signed_in(role)
    base = f"http://{demo_org.slug}.localhost:{live_server_port}"
    page.goto(f"{base}/")
    entries = _nav_urls(page)
    assert entries, f"{role} sees no navigation"
    problems = []
    for href, label in entries:
        response = page.goto(f"{base}{href}")
        assert response.status == 200, f"{role}: {label} answered {response.status}"
        page.wait_for_load_state("networkidle")
        slug = label.lower().replace(" ", "-")
        problems += _check(page, f"{role}-{slug}")
    assert not problems, "\n".join(problems)


def test_login_admin_and_api_docs_pass_axe(signed_in, demo_org, live_server_port):
    base = f"http://{demo_org.slug}.localhost:{live_server_port}"
    problems = []
    anonymous = signed_in("")
    anonymous.goto(f"{base}/login/")
    problems += _check(anonymous, "login")
    assert anonymous.locator("h1").count() == 1

    page = signed_in("admin")
    for name, path in [
        ("admin-index", "/admin/"),
        ("admin-change-form", "/admin/users/user/"),
        ("api-docs", "/api/docs/"),
    ]:
        page.goto(f"{base}{path}")
        if name == "admin-change-form":
            page.locator("#result_list tbody a").first.click()
        page.wait_for_load_state("networkidle")
        problems += _check(page, name)
        assert page.evaluate("document.documentElement.lang").startswith("en"), name
    assert not problems, "\n".join(problems)


def test_on_a_phone_the_navigation_is_a_menu_button_that_opens_and_closes(
    signed_in, demo_org, live_server_port
):
    page = signed_in("manager")
    page.set_viewport_size(VIEWPORTS["phone"])
    page.goto(f"http://{demo_org.slug}.localhost:{live_server_port}/approvals/")
    toggle = page.get_by_role("button", name="Menu")
    nav = page.locator("nav.mainnav")
    assert toggle.get_attribute("aria-expanded") == "false"
    assert not nav.is_visible()
    # The page opens at its header, not scrolled to the first card.
    assert page.evaluate("window.scrollY") == 0

    toggle.click()
    assert toggle.get_attribute("aria-expanded") == "true"
    assert nav.is_visible() and page.get_by_role("button", name="Log out").is_visible()
    page.keyboard.press("Escape")
    assert toggle.get_attribute("aria-expanded") == "false"
    assert not nav.is_visible()
    page.set_viewport_size(VIEWPORTS["laptop"])
    assert nav.is_visible() and not toggle.is_visible()
