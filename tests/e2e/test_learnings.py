"""Browser tests of the learnings pages: hurting flag and keep, writing a learning, its
history; the detailed form's aspects. Each page passes axe-core (no serious or critical
violation) at desktop and phone sizes."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.feedback.models import Learning, LearningApplication
from tests.e2e.conftest import axe_blocking
from tests.factories.crm import AccountFactory
from tests.factories.feedback import LearningFactory
from tests.factories.outcomes import OutcomeFactory, action_type
from tests.factories.users import UserFactory

pytestmark = pytest.mark.e2e
SIZES = {"desktop": (1280, 800), "phone": (390, 844)}


def _no_serious_violations(page) -> None:
    assert axe_blocking(page) == []


def _learnings(rep):
    LearningFactory(
        title="Email sent: short (under 300 characters)",
        action_type=action_type("email_sent"),
        relevance_score=0.8,
        evidence={
            "dimension": "length",
            "value": "short",
            "good_with": 9,
            "good_total": 12,
            "poor_with": 2,
            "poor_total": 10,
            "lift": 0.55,
        },
        lift=0.55,
        lift_low=0.17,
        lift_high=0.78,
        lift_sample=10,
        lift_control_sample=20,
    )
    hurting = LearningFactory(
        title="Email sent: sent at night (22–05 UTC)",
        action_type=action_type("email_sent"),
        lift=-1.0,
        lift_low=-1.0,
        lift_high=-0.67,
        lift_sample=12,
        lift_control_sample=12,
        is_hurting=True,
    )
    used = LearningFactory(title="Meeting request: ending with a concrete meeting ask")
    account = AccountFactory(owner=rep, name="Bluefin Logistics")
    for index in range(30):
        LearningApplication.objects.create(
            learning=used,
            outcome=["success", "partial", "failure"][index % 3],
            outcome_record=OutcomeFactory(account=account, external_id=f"use-{index}"),
            context=f"Deal {index}: follow-up after the demo",
            applied_at=timezone.now() - timedelta(hours=index),
        )
    return hurting, used


def test_manager_keeps_a_hurting_learning_and_writes_one(
    fresh_org, page, login, org_url, screenshot
):
    UserFactory(username="maria", role="manager", first_name="Maria")
    rep = UserFactory(username="rory", role="rep")
    hurting, used = _learnings(rep)
    login(page, fresh_org, "maria")

    page.goto(org_url(fresh_org, "/feedback/learnings/"))
    row = page.locator(f"#learning-{hurting.pk}")
    assert row.locator(".badge-bad").inner_text() == "Hurting"
    for name, (width, height) in SIZES.items():
        page.set_viewport_size({"width": width, "height": height})
        screenshot(page, f"learnings-{name}")
        _no_serious_violations(page)
    page.set_viewport_size({"width": 1280, "height": 800})

    row.get_by_role("button", name="Keep").click()
    page.wait_for_selector(f"#learning-{hurting.pk} .badge-warn")
    assert Learning.objects.get(pk=hurting.pk).kept_at is not None

    page.locator("summary", has_text="Write a learning").click()
    page.fill("#id_title", "Name the last ticket")
    page.click("text=Add learning")
    page.wait_for_selector("#create-form .form-error")
    assert "Say what the agent should do." in page.locator("#create-form").inner_text()
    _no_serious_violations(page)
    page.fill("#id_guidance", "Open with the ticket the customer raised last week.")
    page.click("text=Add learning")
    page.wait_for_url("**/feedback/learnings/*/")
    assert "its confidence is 0.5" in page.content()
    assert Learning.objects.get(title="Name the last ticket").confidence_score == 0.5

    page.goto(org_url(fresh_org, f"/feedback/learnings/{used.pk}/"))
    assert page.locator("table.applications tbody tr").count() == 25
    assert page.locator("table.applications tbody tr").first.inner_text().count("use-0") == 1
    for name, (width, height) in SIZES.items():
        page.set_viewport_size({"width": width, "height": height})
        screenshot(page, f"learning-history-{name}")
        _no_serious_violations(page)


def test_rep_picks_aspects_on_the_detailed_form(fresh_org, page, login, org_url, screenshot):
    rep = UserFactory(username="rory", role="rep")
    outcome = OutcomeFactory(account=AccountFactory(owner=rep, name="Cedar Health"))
    login(page, fresh_org, "rory")
    page.goto(org_url(fresh_org, f"/feedback/outcomes/{outcome.pk}/"))
    page.locator(".star-option", has_text="4").click()
    page.get_by_label("Clear").check()
    page.get_by_label("Too long").check()
    page.select_option("#id_error_category", "tone")
    page.fill("#id_feature_requests", "Offer two meeting slots")
    for name, (width, height) in SIZES.items():
        page.set_viewport_size({"width": width, "height": height})
        screenshot(page, f"feedback-detailed-aspects-{name}")
        _no_serious_violations(page)
    page.click("text=Save detailed feedback")
    page.wait_for_selector("#detailed-form .badge-good")
    entry = outcome.feedback.get(kind="dashboard")
    assert sorted(entry.aspects.values_list("code", flat=True)) == ["clear", "too-long"]
    assert entry.error_category == "tone"
