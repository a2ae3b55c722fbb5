"""Roles and what each may do. The one place that decides who may use what.

Pages, API permissions and the navigation all ask ``can(user, capability)``.
An agent API key acts with the ``agent`` role.
"""

from __future__ import annotations

from django.db import models


class Role(models.TextChoices):
    REP = "rep", "Rep"
    MANAGER = "manager", "Manager"
    EXECUTIVE = "executive", "Executive"
    ADMIN = "admin", "Admin"


AGENT = "agent"

# Capabilities, by area. Keep names "<area>.<verb>".
_AGENT = {
    "crm.write",
    "crm.read",
    "outcomes.record",
    "outcomes.read",
    "outcomes.correct",
    "calibration.read",
    "learnings.read",
    "learnings.apply",
    "insights.read",
    "actions.propose",
    "actions.read",
    "actions.report_result",
    "goals.read",
    "personas.read",
    "analytics.read",
    "scores.write",
    "examples.read",
}
_REP = {
    "crm.read",
    "outcomes.read",
    "calibration.read",
    "feedback.rate",
    "learnings.read",
    "insights.read",
    "insights.feedback",
    "actions.read",
    "goals.read",
    "personas.read",
    "personas.edit_own",
    "dashboards.rep",
    "analytics.read",
    "reviews.review",
    "scores.write",
    "examples.read",
}
_MANAGER = _REP | {
    "reviews.manage",
    "crm.write",
    "feedback.view_team",
    "feedback.export",
    "learnings.manage",
    "insights.act",
    "insights.view_all",
    "insights.report",
    "actions.decide",
    "goals.write",
    "personas.edit",
    "calibration.view",
    "dashboards.manager",
}
_EXECUTIVE = {
    "crm.read",
    "outcomes.read",
    "calibration.read",
    "calibration.view",
    "learnings.read",
    "insights.read",
    "insights.view_all",
    "insights.report",
    "actions.read",
    "goals.read",
    "personas.read",
    "feedback.view_team",
    "dashboards.rep",
    "dashboards.manager",
    "dashboards.executive",
    "analytics.read",
}
_ADMIN = (
    _MANAGER
    | _EXECUTIVE
    | {
        "admin.site",
        "users.manage",
        "apikeys.manage",
        "outcomes.correct",
    }
)

CAPABILITIES: dict[str, frozenset[str]] = {
    AGENT: frozenset(_AGENT),
    Role.REP: frozenset(_REP),
    Role.MANAGER: frozenset(_MANAGER),
    Role.EXECUTIVE: frozenset(_EXECUTIVE),
    Role.ADMIN: frozenset(_ADMIN),
}


def role_of(user) -> str | None:
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return getattr(user, "role", None)


def can(user, capability: str) -> bool:
    role = role_of(user)
    return role is not None and capability in CAPABILITIES.get(role, frozenset())


def sees_only_own(user) -> bool:
    """Whether ``user`` sees only what is theirs: a rep sees the accounts they own and what
    hangs off them (deals, outcomes, insights), their own clones and goals. Everyone else
    who may read an area (managers, executives, admins, the agent) sees all of it.

    The one statement of the rule; each kind's ``*_visible_to`` selector applies it.
    """
    return role_of(user) == Role.REP
