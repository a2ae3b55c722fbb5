"""The navigation each role sees: entries whose page exists and whose capability it has."""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse
from django.utils.functional import SimpleLazyObject

from apps.users.roles import can


@dataclass(frozen=True)
class NavEntry:
    label: str
    url_name: str
    capability: str
    badge: str = ""  # id of a counter that HTMX refreshes (hx-trigger on a client event)
    unless: str = ""  # hidden from roles with this capability (they have a better page)


# The first entry a role may use is its landing page (see learning_site.views.home).
NAV: list[NavEntry] = [
    NavEntry("Executive", "dashboards:executive", "dashboards.executive"),
    NavEntry("Team", "dashboards:manager", "dashboards.manager"),
    NavEntry("My dashboard", "dashboards:rep", "dashboards.rep", unless="dashboards.manager"),
    NavEntry("To review", "feedback:review", "feedback.rate", unless="dashboards.manager"),
    NavEntry("Approvals", "approvals:queue", "actions.decide", badge="approvals"),
    NavEntry("Insights", "insights:inbox", "insights.read", badge="insights"),
    NavEntry("Personas", "personas:list", "personas.read"),
    # Not in the admin's bar, which is full at laptop width (admins open /reviews/ directly).
    NavEntry("Reviews", "reviews:queues", "reviews.review", unless="admin.site"),
    NavEntry("Feedback", "feedback:summary", "feedback.view_team"),
    NavEntry("Learnings", "feedback:learnings", "learnings.manage"),
    # Calibration is the section's second page (outcomes/_section.html), current under it.
    NavEntry("Outcomes", "outcomes:list", "outcomes.read"),
    # Whether the loop works, measured: managers and executives (admins open /simulator/).
    NavEntry("Simulation", "simulator:report", "dashboards.manager", unless="admin.site"),
]


def nav_for(user) -> list[dict[str, str]]:
    entries = []
    for entry in NAV:
        if not can(user, entry.capability) or (entry.unless and can(user, entry.unless)):
            continue
        try:
            url = reverse(entry.url_name)
        except NoReverseMatch:
            continue  # that page is not part of this build
        entries.append({"label": entry.label, "url": url, "badge": entry.badge})
    return entries


def _mark_current(entries: list[dict], path: str) -> None:
    """The current entry is the one whose page is, or holds, this page (the longest matching
    prefix): an outcome's detail page and calibration are under Outcomes."""
    holding = [entry for entry in entries if path.startswith(entry["url"])]
    current = max(holding, key=lambda entry: len(entry["url"]), default=None)
    for entry in entries:
        entry["current"] = entry is current


def navigation(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or getattr(request, "tenant", None) is None:
        return {"nav": []}

    def entries() -> list[dict]:
        found = nav_for(user)
        _mark_current(found, request.path)
        return found

    # Built when a template shows it: the HTMX partials of the hot paths never do.
    return {"nav": SimpleLazyObject(entries), "user_can_admin": can(user, "admin.site")}
