"""Roles decide what each person may use; the navigation follows."""

import pytest

from apps.users.roles import CAPABILITIES, Role, can
from learning_site.navigation import NAV, nav_for


def test_only_managers_and_admins_may_decide_actions(rep, manager, executive, admin_user):
    assert [can(u, "actions.decide") for u in (rep, manager, executive, admin_user)] == [
        False,
        True,
        False,
        True,
    ]


def test_executive_reads_everything_but_changes_nothing(executive):
    writes = {
        "actions.decide",
        "insights.act",
        "feedback.rate",
        "goals.write",
        "personas.edit",
        "crm.write",
    }
    assert not any(can(executive, capability) for capability in writes)
    assert can(executive, "dashboards.executive") and can(executive, "dashboards.manager")


def test_agent_role_can_propose_but_never_decide():
    assert "actions.propose" in CAPABILITIES["agent"]
    assert "actions.decide" not in CAPABILITIES["agent"]


def test_anonymous_users_can_do_nothing():
    from django.contrib.auth.models import AnonymousUser

    assert not can(AnonymousUser(), "outcomes.read")


@pytest.mark.parametrize("role", Role.values)
def test_each_role_sees_only_navigation_it_may_use(org, role):
    from tests.factories.users import UserFactory

    user = UserFactory(role=role)
    allowed = {entry.label for entry in NAV if can(user, entry.capability)}
    assert {entry["label"] for entry in nav_for(user)} <= allowed


def test_rep_navigation_never_offers_the_approval_queue_or_executive_view(rep):
    labels = {entry["label"] for entry in nav_for(rep)}
    assert "Approvals" not in labels and "Executive" not in labels


def test_rep_cannot_open_the_django_admin(page_client, rep, admin_user):
    assert page_client(rep).get("/admin/").status_code == 302
    assert page_client(admin_user).get("/admin/").status_code == 200


def test_each_role_lands_on_its_own_dashboard(page_client, rep, manager, executive, admin_user):
    landing = {
        user.role: page_client(user).get("/").url for user in (rep, manager, executive, admin_user)
    }
    assert landing == {
        "rep": "/dashboards/me/",
        "manager": "/dashboards/team/",
        "executive": "/dashboards/executive/",
        "admin": "/dashboards/executive/",
    }


def test_managers_do_not_get_the_reps_personal_pages_in_their_navigation(manager, rep):
    assert {"My dashboard", "To review"} <= {e["label"] for e in nav_for(rep)}
    assert not {"My dashboard", "To review"} & {e["label"] for e in nav_for(manager)}
