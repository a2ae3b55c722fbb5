"""An org admin reviews goals in the Django admin and extends one that was missed."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.goals.models import Goal
from tests.factories.goals import GoalFactory
from tests.factories.personas import CloneFactory
from tests.factories.users import UserFactory

pytestmark = pytest.mark.e2e


def test_admin_sees_progress_bars_and_extends_a_missed_goal(
    fresh_org, page, login, org_url, screenshot
):
    UserFactory(username="ada", role="admin", first_name="Ada", last_name="Moreau")
    rep = UserFactory(username="rory", role="rep", first_name="Rory", last_name="Reyes")
    clone = CloneFactory(name="Rory's outreach clone", owner=rep)
    today = timezone.now().date()
    GoalFactory(
        name="Team pipeline",
        goal_type="pipeline",
        target=Decimal("400000"),
        current_value=Decimal("172500"),
    )
    GoalFactory(
        name="Positive outcomes",
        goal_type="quality",
        target=Decimal("70"),
        current_value=Decimal("64"),
        clone=clone,
    )
    GoalFactory(
        name="Agent actions",
        goal_type="activity",
        target=Decimal("20"),
        current_value=Decimal("23"),
        status="completed",
    )
    missed = GoalFactory(
        name="Revenue stretch",
        goal_type="revenue",
        target=Decimal("500000"),
        current_value=Decimal("120000"),
        status="missed",
        owner=rep,
        period_start=today - timedelta(days=40),
        period_end=today - timedelta(days=10),
    )

    login(page, fresh_org, "ada")
    page.goto(org_url(fresh_org, "/admin/goals/goal/"))
    assert page.locator("[role=progressbar]").count() == 4
    screenshot(page, "goals-admin-changelist")

    page.check(f"input[name=_selected_action][value='{missed.pk}']")
    page.select_option("select[name=action]", "extend_30_days")
    page.click("button[name=index]")
    page.wait_for_load_state("networkidle")
    assert "Extended 1 goals by 30 days." in page.locator(".messagelist").inner_text()
    missed.refresh_from_db()
    assert missed.status == "active" and missed.period_end == today + timedelta(days=20)

    page.goto(org_url(fresh_org, "/admin/goals/goal/add/"))
    page.fill("input[name=name]", "Bad goal")
    page.select_option("select[name=goal_type]", "activity")
    page.fill("input[name=target]", "0")
    page.fill("input[name=period_start]", today.isoformat())
    page.fill("input[name=period_end]", (today - timedelta(days=1)).isoformat())
    page.click("input[name=_save]")
    page.wait_for_selector(".errornote")
    errors = page.locator(".errorlist").all_inner_texts()
    assert "The target must be greater than 0." in " ".join(errors)
    assert "The period must end after it starts." in " ".join(errors)
    screenshot(page, "goals-admin-validation")
    assert not Goal.objects.filter(name="Bad goal").exists()
