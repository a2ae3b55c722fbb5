"""Issue 20.8: malformed input is a 400 (API) or the page with a message, never a 500, and
changes nothing stored: a cursor that decodes to a non-number, NUL characters in filters,
paths, form fields and keys."""

from __future__ import annotations

import base64

import pytest

from apps.approvals.models import ActionEvent
from tests.factories.approvals import PendingActionFactory
from tests.factories.outcomes import CloneFactory

BAD_CURSORS = [
    "cD1hYmM=",  # p=abc: a position that is not an id
    base64.b64encode(b"p=").decode(),
    base64.b64encode(b"o=x").decode(),  # offset not a number
    base64.b64encode(b"p=1.5").decode(),
    base64.b64encode(b"p=99999999999999999999999").decode(),  # beyond bigint
    base64.b64encode(b"p=\x00").decode(),
    "!!!not-base64",
    "%00",
]


def _list_paths(client) -> list[str]:
    schema = client.get("/api/schema/", {"format": "json"}).json()
    return sorted(
        path
        for path, operations in schema["paths"].items()
        if "get" in operations and "{" not in path and path.startswith("/api/v1/")
    )


def test_the_schema_lists_the_paginated_endpoints(manager_api):
    paths = _list_paths(manager_api)
    assert {"/api/v1/outcomes/", "/api/v1/actions/", "/api/v1/accounts/"} <= set(paths)


@pytest.mark.parametrize("cursor", BAD_CURSORS)
def test_a_bad_cursor_is_a_400_on_every_list_endpoint(manager_api, cursor):
    PendingActionFactory()
    failures = {}
    for path in _list_paths(manager_api):
        if path.endswith("/stream/"):
            continue  # an event stream has no pages (and never ends)
        plain = manager_api.get(path)
        json_page = plain.status_code == 200 and plain["Content-Type"] == "application/json"
        paginated = json_page and "next" in (plain.json() or {})
        response = manager_api.get(path, {"cursor": cursor})
        if response.status_code >= 500:
            failures[path] = response.status_code
        elif paginated and (response.status_code != 400 or "cursor" not in response.json()):
            failures[path] = response.status_code
    assert failures == {}


def test_a_good_cursor_still_pages(agent_api):
    for _ in range(3):
        PendingActionFactory()
    first = agent_api.get("/api/v1/actions/", {"page_size": 2}).json()
    assert first["next"]
    second = agent_api.get(first["next"]).json()
    assert len(second["results"]) == 1


@pytest.mark.parametrize("field", ["account", "decided_by", "action_type", "status", "since"])
def test_a_nul_in_a_history_filter_is_the_page_with_a_message(page_client, manager, field):
    response = page_client(manager).get("/approvals/history/", {field: "ab\x00c"})
    assert response.status_code == 400
    assert "NUL" in response.content.decode() or "not allowed" in response.content.decode()


def test_a_nul_in_a_persona_path_is_a_404_or_400(page_client, manager):
    CloneFactory(external_id="clone-1")
    client = page_client(manager)
    for path in ["/personas/%00/", "/personas/a%00b/preview/", "/personas/%00/versions/1/revert/"]:
        assert client.get(path).status_code in (400, 404), path


def test_a_nul_in_an_api_path_is_not_a_500(manager_api):
    assert manager_api.get("/api/v1/clones/%00/persona/").status_code in (400, 404)
    assert manager_api.get("/api/v1/actions/%00/").status_code in (400, 404)


def test_a_nul_in_the_reject_reason_is_refused_and_nothing_is_stored(page_client, manager):
    action = PendingActionFactory()
    client = page_client(manager)
    response = client.post(
        f"/approvals/{action.pk}/decide/", {"decision": "reject", "reason": "too\x00risky"}
    )
    assert response.status_code == 400
    htmx = client.post(
        f"/approvals/{action.pk}/decide/",
        {"decision": "reject", "reason": "too\x00risky"},
        HTTP_HX_REQUEST="true",
    )
    assert htmx.status_code == 400
    action.refresh_from_db()
    assert action.status == "pending"
    assert not ActionEvent.objects.filter(action=action, kind="rejected").exists()


def test_a_nul_in_the_reject_reason_through_the_api_is_a_400(manager_api):
    action = PendingActionFactory()
    response = manager_api.post(
        f"/api/v1/actions/{action.pk}/decision/",
        {"decision": "reject", "reason": "too\x00risky"},
        format="json",
    )
    assert response.status_code == 400
    action.refresh_from_db()
    assert action.status == "pending"


def test_a_nul_in_a_bearer_key_is_a_401(api_client):
    assert api_client("ll_ab\x00cd_xyz").get("/api/v1/outcomes/").status_code == 401


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/outcomes/?account=%00",
        "/api/v1/outcomes/?status=%00",
        "/api/v1/actions/?action_type=%00",
        "/api/v1/accounts/?external_id=%00",
        "/outcomes/?q=%00",
        "/insights/?account=%00",
        "/feedback/review/?action_type=%00",
        "/login/?next=%00",
    ],
)
def test_a_nul_anywhere_in_a_query_is_never_a_500(page_client, manager, manager_key, path):
    client = page_client(manager)
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {manager_key}"
    assert client.get(path).status_code < 500


@pytest.mark.parametrize("cookie", ["ll_session", "ll_csrftoken", "messages"])
def test_a_nul_in_a_cookie_is_ignored_not_a_500(page_client, manager, cookie):
    client = page_client()
    client.defaults["HTTP_COOKIE"] = f"{cookie}=abcdefghij\x00klm"
    assert client.get("/login/").status_code == 200
    assert client.get("/approvals/").status_code == 302  # simply not signed in
    assert client.get("/api/v1/outcomes/").status_code in (401, 403)


def test_the_refusal_page_keeps_the_security_headers(page_client, manager):
    response = page_client(manager).get("/approvals/history/", {"account": "\x00"})
    assert response.status_code == 400
    assert "Content-Security-Policy" in response
