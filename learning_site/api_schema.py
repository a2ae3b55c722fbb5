"""OpenAPI schema additions shared by every app's API.

Imported by drf-spectacular through ``PREPROCESSING_HOOKS`` before it inspects any view,
which registers the bearer-key security scheme below.
"""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiKeyScheme(OpenApiAuthenticationExtension):
    """``Authorization: Bearer <key>`` (see ``apps.users.authentication``)."""

    target_class = "apps.users.authentication.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An agent key or a personal key: `Authorization: Bearer ll_…`.",
        }


def preprocess_endpoints(endpoints):
    """Every endpoint as discovered; the hook exists so this module is imported in time."""
    return endpoints


# The area each path belongs to (its first segment after /api/v1/), in the order the docs
# list them; an unlisted segment gets its own capitalised tag.
AREAS: dict[str, str] = {
    "accounts": "CRM",
    "deals": "CRM",
    "interactions": "CRM",
    "outcomes": "Outcomes",
    "calibration": "Outcomes",
    "feedback": "Feedback and learnings",
    "learnings": "Feedback and learnings",
    "scores": "Reviews",
    "examples": "Reviews",
    "review-queues": "Reviews",
    "insights": "Insights",
    "actions": "Approvals",
    "goals": "Goals",
    "clones": "Personas",
    "analytics": "Analytics",
}

# What an operation does, in the words of the design, where its path alone does not say it.
SUMMARIES: dict[str, str] = {
    "POST /api/v1/accounts/": "Create or update an account (by CRM external id)",
    "POST /api/v1/deals/": "Create or update a deal (by CRM external id)",
    "POST /api/v1/interactions/": "Record a customer interaction or deal stage change",
    "POST /api/v1/outcomes/": "Record an agent action (idempotent on external_id)",
    "POST /api/v1/outcomes/bulk/": "Record up to 1,000 agent actions in one call",
    "PATCH /api/v1/outcomes/{id}/": "Correct an outcome's metadata, text, deal or clone",
    "DELETE /api/v1/outcomes/{id}/": "Soft-delete an outcome",
    "GET /api/v1/calibration/{action_type}/": "Calibration bins, ECE and Brier score of an action type",
    "POST /api/v1/feedback/": "Rate an outcome (inline -1/0/+1 or detailed 1-5)",
    "GET /api/v1/learnings/": "Learnings ranked by relevance × confidence × decay",
    "POST /api/v1/learnings/": "Write a learning (manager)",
    "GET /api/v1/learnings/{id}/applications/": "A learning's application history",
    "POST /api/v1/learnings/{id}/applications/": "Record a use of a learning",
    "POST /api/v1/insights/{id}/act/": "Mark an insight as acted on",
    "POST /api/v1/insights/{id}/dismiss/": "Dismiss an insight with a reason",
    "POST /api/v1/insights/{id}/feedback/": "Say whether an alert was useful",
    "GET /api/v1/insights/stream/": "Live insights (Server-Sent Events)",
    "POST /api/v1/actions/": "Propose an action (guardrails classify it)",
    "POST /api/v1/actions/{id}/decision/": "Approve or reject a proposed action",
    "POST /api/v1/actions/{id}/result/": "Report an executed action's result",
    "GET /api/v1/clones/{external_id}/persona/": "A clone's persona: settings and instruction text",
    "PATCH /api/v1/clones/{external_id}/persona/": "Change a clone's persona (keeps a version)",
    "GET /api/v1/analytics/rep/": "Rep dashboard figures",
    "GET /api/v1/analytics/manager/": "Team dashboard figures",
    "GET /api/v1/analytics/executive/": "Executive dashboard figures",
    "GET /api/v1/analytics/trends/": "Weekly trends",
    "GET /api/v1/analytics/patterns/": "Pattern analytics by action type",
    "GET /api/v1/analytics/patterns/{action_type}/": "One action type's pattern: rollup, feedback, trend",
    "GET /api/v1/accounts/{id}/timeline/": "An account's timeline and 30/90/365-day summaries",
    "POST /api/v1/scores/": "Score an output against a rubric",
    "GET /api/v1/examples/": "Best examples for few-shot prompting",
}
_VERBS = {"get": "Read", "put": "Replace", "patch": "Update", "delete": "Delete"}


def _summary(method: str, path: str) -> str:
    """The summary of an operation: from SUMMARIES, else from its path ("List goals",
    "Read one goal", "Create a goal")."""
    if f"{method.upper()} {path}" in SUMMARIES:
        return SUMMARIES[f"{method.upper()} {path}"]
    parts = [part for part in path.strip("/").split("/")[2:] if part]
    names = [part.replace("-", " ") for part in parts if not part.startswith("{")]
    resource = names[-1] if names else "resource"
    singular = resource[:-1] if resource.endswith("s") and not resource.endswith("ss") else resource
    if parts and parts[-1].startswith("{"):
        return f"{_VERBS.get(method, method.upper())} one {singular}"
    if method == "get":
        return f"List {resource}"
    return (
        f"Create a {singular}" if method == "post" else f"{_VERBS.get(method, method)} {resource}"
    )


def tag_by_area(result, generator, request, public):
    """Group operations by area (tags) and give each one a summary (postprocessing hook)."""
    tags: set[str] = set()
    for path, operations in result.get("paths", {}).items():
        segment = path.strip("/").split("/")[2] if path.count("/") > 3 else ""
        area = AREAS.get(segment, segment.replace("-", " ").capitalize() or "General")
        for method, operation in operations.items():
            if not isinstance(operation, dict):
                continue
            operation["tags"] = [area]
            operation.setdefault("summary", _summary(method, path))
            tags.add(area)
    order = list(dict.fromkeys(AREAS.values()))
    result["tags"] = [
        {"name": name}
        for name in sorted(tags, key=lambda n: order.index(n) if n in order else len(order))
    ]
    return result
