"""The goal admin: changelist with progress, filters and search; validated edit; bulk actions."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.goals.models import Goal
from tests.factories.goals import GoalFactory
from tests.factories.outcomes import OutcomeFactory
from tests.factories.personas import CloneFactory

TODAY = timezone.now().date()


@pytest.fixture
def admin_client(page_client, admin_user):
    return page_client(admin_user)


def _form(**overrides) -> dict:
    return {
        "name": "Q4 activity",
        "goal_type": "activity",
        "target": "20",
        "period_start": (TODAY - timedelta(days=5)).isoformat(),
        "period_end": (TODAY + timedelta(days=25)).isoformat(),
        "clone": "",
        "owner": "",
        **overrides,
    }


def test_changelist_shows_progress_bars_and_statuses(admin_client):
    GoalFactory(name="Book meetings", target=Decimal("10"), current_value=Decimal("4"))
    GoalFactory(name="Win revenue", goal_type="revenue", status="completed")
    response = admin_client.get("/admin/goals/goal/")
    assert response.status_code == 200
    assert "Book meetings" in response.text and "4 / 10 (40%)" in response.text
    assert 'role="progressbar"' in response.text and "Completed" in response.text


def test_changelist_filters_by_type_status_and_clone_and_searches(admin_client):
    clone = CloneFactory(name="Nova")
    GoalFactory(name="Pipeline goal", goal_type="pipeline")
    GoalFactory(name="Missed goal", status="missed")
    GoalFactory(name="Nova goal", clone=clone)
    assert "Pipeline goal" not in admin_client.get("/admin/goals/goal/?goal_type=activity").text
    by_status = admin_client.get("/admin/goals/goal/?status=missed").text
    assert "Missed goal" in by_status and "Pipeline goal" not in by_status
    by_clone = admin_client.get(f"/admin/goals/goal/?clone__id__exact={clone.pk}").text
    assert "Nova goal" in by_clone and "Missed goal" not in by_clone
    search = admin_client.get("/admin/goals/goal/?q=nova").text
    assert "Nova goal" in search and "Pipeline goal" not in search


def test_changelist_runs_a_fixed_number_of_queries(admin_client, django_assert_max_num_queries):
    clone = CloneFactory()
    GoalFactory(clone=clone)
    with django_assert_max_num_queries(20):
        admin_client.get("/admin/goals/goal/")
    GoalFactory.create_batch(30, clone=clone)
    with django_assert_max_num_queries(20):
        admin_client.get("/admin/goals/goal/")


def test_adding_a_goal_computes_its_progress_at_once(admin_client):
    OutcomeFactory.create_batch(3, occurred_at=timezone.now() - timedelta(days=1))
    response = admin_client.post("/admin/goals/goal/add/", _form())
    assert response.status_code == 302
    goal = Goal.objects.get()
    assert goal.current_value == 3 and goal.progress_updated_at is not None


@pytest.mark.parametrize(
    "bad, message",
    [
        ({"target": "0"}, "The target must be greater than 0."),
        ({"target": "-5"}, "The target must be greater than 0."),
        ({"goal_type": "quality", "target": "120"}, "A quality target is a percentage"),
        ({"period_end": (TODAY - timedelta(days=5)).isoformat()}, "must end after it starts"),
        ({"period_end": (TODAY - timedelta(days=9)).isoformat()}, "must end after it starts"),
        ({"goal_type": "vibes"}, "Select a valid choice"),
        ({"target": "many"}, "Enter a number"),
    ],
)
def test_edit_form_refuses_bad_input_with_a_message(admin_client, bad, message):
    response = admin_client.post("/admin/goals/goal/add/", _form(**bad))
    assert response.status_code == 200
    assert message in response.text
    assert not Goal.objects.exists()


def test_editing_a_goal_saves_and_recomputes(admin_client):
    goal = GoalFactory(name="Old", target=Decimal("99"))
    OutcomeFactory(occurred_at=timezone.now() - timedelta(days=1))
    response = admin_client.post(f"/admin/goals/goal/{goal.pk}/change/", _form(target="1"))
    assert response.status_code == 302
    goal.refresh_from_db()
    assert goal.name == "Q4 activity" and goal.status == "completed"


def test_bulk_close_completes_or_misses_the_selected_goals(admin_client):
    reached = GoalFactory(target=Decimal("1"))
    short = GoalFactory(target=Decimal("50"))
    untouched = GoalFactory(target=Decimal("50"))
    OutcomeFactory(occurred_at=timezone.now() - timedelta(days=1))
    response = admin_client.post(
        "/admin/goals/goal/",
        {"action": "close_goals", "_selected_action": [reached.pk, short.pk]},
        follow=True,
    )
    assert "Closed 2 goals: 1 completed, 1 missed." in response.text
    statuses = dict(Goal.objects.values_list("pk", "status"))
    assert statuses == {reached.pk: "completed", short.pk: "missed", untouched.pk: "active"}


def test_bulk_extend_moves_the_end_and_leaves_completed_goals(admin_client):
    missed = GoalFactory(
        status="missed",
        target=Decimal("50"),
        period_start=TODAY - timedelta(days=30),
        period_end=TODAY - timedelta(days=1),
    )
    done = GoalFactory(status="completed")
    response = admin_client.post(
        "/admin/goals/goal/",
        {"action": "extend_30_days", "_selected_action": [missed.pk, done.pk]},
        follow=True,
    )
    assert "Extended 1 goals by 30 days. 1 completed goals were left as they are." in response.text
    missed.refresh_from_db()
    assert missed.status == "active" and missed.period_end == TODAY + timedelta(days=29)


def test_manager_cannot_open_the_goal_admin(page_client, manager):
    assert page_client(manager).get("/admin/goals/goal/").status_code == 302


def test_admin_shows_no_goal_of_another_organisation(admin_client, other_org, in_org):
    with in_org(other_org):
        theirs = GoalFactory(name="Globex goal")
    assert "Globex goal" not in admin_client.get("/admin/goals/goal/").text
    assert admin_client.get(f"/admin/goals/goal/{theirs.pk + 1000}/change/").status_code == 302
