"""A manager drags a slider, the preview changes without a reload, and saving adds a version."""

from __future__ import annotations

import pytest

from apps.agents.models import RegionProfile
from apps.personas.services import persona_update
from tests.factories.personas import CloneFactory
from tests.factories.users import UserFactory

pytestmark = pytest.mark.e2e


def _drag(page, selector: str, fraction: float) -> None:
    box = page.locator(selector).bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] / 2, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * fraction, y, steps=8)
    page.mouse.up()


def test_manager_drags_a_slider_sees_the_preview_change_and_saves_a_version(
    fresh_org, page, login, org_url, screenshot
):
    manager = UserFactory(username="maria", role="manager", first_name="Maria", last_name="Lind")
    rep = UserFactory(username="rory", role="rep", first_name="Rory", last_name="Reyes")
    clone = CloneFactory(
        external_id="demo-clone-1",
        name="Rory's outreach clone",
        owner=rep,
        region=RegionProfile.objects.get(code="uk"),
    )
    persona_update(clone=clone, user=manager, sliders={"concise_detailed": 70})

    login(page, fresh_org, "maria")
    page.goto(org_url(fresh_org, "/personas/"))
    screenshot(page, "personas-list")
    page.click("text=Open persona")
    page.wait_for_url("**/personas/demo-clone-1/")
    page.evaluate("window.__sameDocument = true")
    body = page.get_by_test_id("email-body")
    chat = page.get_by_test_id("chat-message")
    email_before, chat_before = body.inner_text(), chat.inner_text()
    assert "Dear Dana," in email_before  # the UK greeting at a neutral tone

    _drag(page, "#id_formal_casual", 0.98)
    page.wait_for_function(
        "before => document.querySelector('[data-testid=email-body]').innerText !== before",
        arg=email_before,
    )
    assert page.locator("#value-formal_casual").inner_text() != "50"
    assert page.evaluate("window.__sameDocument") is True  # no full reload
    assert "Hey Dana," in body.inner_text() and chat.inner_text() != chat_before
    assert page.get_by_text("Unsaved draft").is_visible()

    _drag(page, "#id_technical_business", 0.02)
    page.wait_for_function(
        "() => document.querySelector('[data-testid=email-body]').innerText.includes('API')"
    )
    screenshot(page, "persona-editor-draft")

    page.click("button:has-text('Save as version 3')")
    page.wait_for_url("**/personas/demo-clone-1/")
    assert "Saved as version 3." in page.locator(".messages").inner_text()
    history = page.locator("section.history")
    assert "v3" in history.inner_text() and "more casual" in history.inner_text()
    screenshot(page, "persona-editor-saved")

    page.click("button:has-text('Revert to v2')")
    page.wait_for_url("**/personas/demo-clone-1/")
    assert "Reverted to version 2 (saved as version 4)." in page.locator(".messages").inner_text()
