"""The two pages this work adds, in a real browser: the admin page that shows a new API key
once, and the page that refuses a request carrying a NUL character. No serious or critical
axe-core finding; screenshots at 1280x800 and 390x844 in artifacts/screenshots/."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import axe_blocking
from tests.factories.users import UserFactory

pytestmark = pytest.mark.e2e

SIZES = {"desktop": (1280, 800), "phone": (390, 844)}


def _serious(page) -> list:
    return axe_blocking(page)


def test_the_new_key_page_shows_the_key_once_and_passes_axe(
    fresh_org, page, login, org_url, screenshot
):
    UserFactory(username="ada", role="admin")
    rory = UserFactory(username="rory", role="rep")
    login(page, fresh_org, "ada")
    page.goto(org_url(fresh_org, "/admin/users/apikey/add/"))
    page.fill("input[name=name]", "Rory's laptop")
    page.select_option("select[name=user]", str(rory.pk))
    page.click("input[name=_save]")
    page.wait_for_load_state("networkidle")

    value = page.input_value("#new-api-key")
    assert re.fullmatch(r"ll_[0-9a-f]{8}_\S+", value)
    assert all(value not in cookie["value"] for cookie in page.context.cookies())
    assert _serious(page) == []
    for name, (width, height) in SIZES.items():
        page.set_viewport_size({"width": width, "height": height})
        screenshot(page, f"security-api-key-created-{name}")

    page.goto(org_url(fresh_org, "/admin/users/apikey/"))
    assert value not in page.content()


def test_the_bad_request_page_explains_and_passes_axe(fresh_org, page, login, org_url, screenshot):
    UserFactory(username="maria", role="manager")
    login(page, fresh_org, "maria")
    response = page.goto(org_url(fresh_org, "/approvals/history/?account=%00"))
    assert response.status == 400
    assert "NUL character" in page.inner_text("main")
    assert _serious(page) == []
    for name, (width, height) in SIZES.items():
        page.set_viewport_size({"width": width, "height": height})
        screenshot(page, f"security-bad-request-{name}")
