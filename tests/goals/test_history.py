"""Goals' performance snapshots shown: the goal page and the executive dashboard draw the
snapshot history as a line against the target."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.utils import timezone

from apps.goals.models import PerformanceSnapshot
from apps.goals.selectors import goals_history
from tests.conftest import OTHER_HOST
from tests.factories.goals import GoalFactory
from tests.factories.outcomes import CloneFactory
from tests.factories.users import UserFactory


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


def snapshot(clone, days_ago: int, **figures) -> PerformanceSnapshot:
    day = timezone.now().date() - timedelta(days=days_ago)
    return PerformanceSnapshot.objects.create(clone=clone, day=day, **figures)


@pytest.fixture
def clones(org, rep):
    mine, second = CloneFactory(name="Rory A", owner=rep), CloneFactory(name="Rory B", owner=rep)
    theirs = CloneFactory(name="Sam's", owner=UserFactory(username="sam", role="rep"))
    for clone, activity in ((mine, 3), (second, 1), (theirs, 10)):
        for days_ago in (8, 5, 2):
            snapshot(
                clone,
                days_ago,
                activity_count=activity,
                decided_count=4,
                positive_count=2 if clone is theirs else 3,
                pipeline_value=Decimal("1000"),
                revenue_value=Decimal("0"),
            )
    snapshot(mine, 30, activity_count=50)  # before the period: not counted
    return {"mine": mine, "second": second, "theirs": theirs}


def test_a_clone_goal_draws_the_running_total_of_its_clone(clones):
    goal = GoalFactory(clone=clones["mine"], goal_type="activity", target=Decimal("20"))

    history = goals_history([goal], today=timezone.now().date())[goal.pk]

    assert [point["value"] for point in history] == [3.0, 6.0, 9.0]
    assert history[-1]["day"] == (timezone.now().date() - timedelta(days=2)).isoformat()


def test_owner_and_team_goals_add_clones_up_and_count_an_owners_pipeline_once(clones, rep):
    owner = GoalFactory(owner=rep, goal_type="activity")
    pipeline = GoalFactory(owner=rep, goal_type="pipeline", target=Decimal("5000"))
    team = GoalFactory(goal_type="pipeline", target=Decimal("5000"))
    quality = GoalFactory(goal_type="quality", target=Decimal("60"))

    history = goals_history([owner, pipeline, team, quality], today=timezone.now().date())

    assert [p["value"] for p in history[owner.pk]] == [4.0, 8.0, 12.0]
    assert [p["value"] for p in history[pipeline.pk]] == [1000.0, 2000.0, 3000.0]
    assert [p["value"] for p in history[team.pk]] == [2000.0, 4000.0, 6000.0]
    assert history[quality.pk][-1]["value"] == pytest.approx(100 * 24 / 36, abs=0.01)


def test_the_goal_page_draws_the_history_against_the_target(clones, page_client, manager):
    goal = GoalFactory(
        name="Q4 outreach", clone=clones["mine"], goal_type="activity", target=Decimal("20")
    )

    response = page_client(manager).get(f"/goals/{goal.pk}/")

    assert response.status_code == 200
    html = response.content.decode()
    assert 'class="chart goal-chart"' in html and "Target 20" in html
    assert 'class="line progress-line"' in html
    assert "Q4 outreach: 9 on" in html  # the chart's accessible summary: latest value
    assert response.context["history"][0]["figure"] == "9"


def test_a_goal_without_snapshots_says_so(org, page_client, manager):
    goal = GoalFactory(goal_type="revenue", target=Decimal("50000"))

    html = page_client(manager).get(f"/goals/{goal.pk}/").content.decode()

    assert "No performance snapshots in this period yet" in html
    assert "Target $50k" in html


def test_a_rep_opens_their_own_and_team_goals_but_not_anothers(clones, page_client, rep):
    own = GoalFactory(clone=clones["mine"])
    team = GoalFactory()
    other = GoalFactory(clone=clones["theirs"])
    client = page_client(rep)

    assert client.get(f"/goals/{own.pk}/").status_code == 200
    assert client.get(f"/goals/{team.pk}/").status_code == 200
    assert client.get(f"/goals/{other.pk}/").status_code == 404


def test_the_goal_page_needs_a_login_and_get(org, page_client, manager):
    goal = GoalFactory()

    assert page_client().get(f"/goals/{goal.pk}/").status_code == 302
    assert page_client(manager).post(f"/goals/{goal.pk}/").status_code == 405
    assert page_client(manager).get("/goals/999999/").status_code == 404


def test_another_organisations_manager_cannot_open_this_goal(
    org, page_client, other_org, other_org_manager, in_org
):
    goal = GoalFactory()

    with in_org(other_org):
        response = page_client(other_org_manager, host=OTHER_HOST).get(f"/goals/{goal.pk}/")

    assert response.status_code == 404


@pytest.mark.parametrize("days", [2, 25])
def test_the_goal_page_runs_a_fixed_number_of_queries(
    org, rep, page_client, manager, django_assert_max_num_queries, days
):
    clone = CloneFactory(owner=rep)
    for days_ago in range(days):
        snapshot(clone, days_ago, activity_count=1)
    goal = GoalFactory(clone=clone)
    client = page_client(manager)

    with django_assert_max_num_queries(7):
        assert client.get(f"/goals/{goal.pk}/").status_code == 200


def test_the_executive_dashboard_draws_each_active_goal_against_its_target(
    clones, page_client, executive
):
    goal = GoalFactory(name="Team pipeline", goal_type="pipeline", target=Decimal("5000"))
    GoalFactory(name="Finished", status="completed")

    response = page_client(executive).get("/dashboards/executive/")

    html = response.content.decode()
    assert 'id="goal-history"' in html
    assert f'href="/goals/{goal.pk}/"' in html
    assert "Team pipeline: $6,000 on" in html
    assert html.count('class="chart goal-chart"') == 1


@pytest.mark.parametrize("goals", [1, 8])
def test_the_executive_dashboard_keeps_a_fixed_query_count_with_goal_history(
    clones, page_client, executive, django_assert_max_num_queries, goals
):
    for number in range(goals):
        GoalFactory(name=f"Goal {number}", clone=clones["mine"])
    client = page_client(executive)

    with django_assert_max_num_queries(17):
        assert client.get("/dashboards/executive/?refresh=1").status_code == 200
