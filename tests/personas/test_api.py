"""Persona API: the agent lists clones and reads its persona; managers change it."""

from __future__ import annotations

import pytest

from apps.personas.models import PersonaVersion
from apps.personas.services import persona_update
from tests.conftest import OTHER_HOST
from tests.factories.personas import CloneFactory


@pytest.fixture
def clone(rep):
    return CloneFactory(owner=rep, external_id="rory-1", name="Rory's clone", formal_casual=20)


def test_agent_lists_clones_with_their_version(agent_api, clone, manager):
    CloneFactory(external_id="sam-1")
    persona_update(clone=clone, user=manager, sliders={"formal_casual": 70})
    response = agent_api.get("/api/v1/clones/")
    assert response.status_code == 200
    rows = {row["external_id"]: row for row in response.json()["results"]}
    assert rows["rory-1"]["version"] == 2 and rows["rory-1"]["formal_casual"] == 70
    assert rows["rory-1"]["owner"] == "rory"
    assert rows["sam-1"]["version"] == 1


def test_rep_key_lists_only_own_clones(api_client, rep_key, clone):
    CloneFactory(external_id="sam-1")
    response = api_client(rep_key).get("/api/v1/clones/")
    assert [row["external_id"] for row in response.json()["results"]] == ["rory-1"]


def test_clone_list_has_no_clone_of_another_organisation(agent_api, other_org, in_org):
    with in_org(other_org):
        CloneFactory(external_id="globex-1")
    assert agent_api.get("/api/v1/clones/").json()["results"] == []


def test_clone_list_needs_a_key(api_client):
    assert api_client().get("/api/v1/clones/").status_code in (401, 403)


def test_clone_list_runs_a_fixed_number_of_queries(agent_api, django_assert_max_num_queries):
    CloneFactory()
    with django_assert_max_num_queries(6):
        agent_api.get("/api/v1/clones/")
    CloneFactory.create_batch(25)
    with django_assert_max_num_queries(6):
        agent_api.get("/api/v1/clones/")


def test_agent_reads_the_persona_by_clone_external_id(agent_api, clone):
    response = agent_api.get("/api/v1/clones/rory-1/persona/")
    assert response.status_code == 200
    body = response.json()
    assert body["clone"] == "rory-1" and body["version"] == 1
    assert body["settings"]["formal_casual"] == 20
    assert body["settings"]["region"] is None
    assert body["instructions"].startswith("You are Rory's clone, writing on behalf of Rory Rep.")
    assert "Tone: formal" in body["instructions"]


def test_unknown_or_other_organisations_clone_is_a_404(agent_api, other_org, in_org):
    with in_org(other_org):
        CloneFactory(external_id="globex-1")
    assert agent_api.get("/api/v1/clones/globex-1/persona/").status_code == 404
    assert agent_api.get("/api/v1/clones/nope/persona/").status_code == 404


def test_other_organisations_key_cannot_read_our_persona(api_client, other_agent_key, clone):
    response = api_client(other_agent_key, host=OTHER_HOST).get("/api/v1/clones/rory-1/persona/")
    assert response.status_code == 404


def test_manager_patch_changes_settings_and_adds_a_version(manager_api, clone):
    response = manager_api.patch(
        "/api/v1/clones/rory-1/persona/",
        {"formal_casual": 85, "region": "uk", "custom_instructions": "Mention the webinar."},
        format="json",
    )
    assert response.status_code == 200
    body = response.json()
    assert body["version"] == 2
    assert body["settings"]["formal_casual"] == 85 and body["settings"]["region"] == "uk"
    assert "Additional instructions: Mention the webinar." in body["instructions"]
    version = clone.versions.get(number=2)
    assert version.created_by.username == "maria" and version.note == "Changed through the API"


def test_agent_key_cannot_patch(agent_api, clone):
    response = agent_api.patch(
        "/api/v1/clones/rory-1/persona/", {"formal_casual": 85}, format="json"
    )
    assert response.status_code == 403
    assert not PersonaVersion.objects.exists()


def test_rep_key_cannot_patch_even_own_clone(api_client, rep_key, clone):
    response = api_client(rep_key).patch(
        "/api/v1/clones/rory-1/persona/", {"formal_casual": 85}, format="json"
    )
    assert response.status_code == 403


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"formal_casual": 101}, "formal_casual"),
        ({"proactive_reactive": -1}, "proactive_reactive"),
        ({"concise_detailed": "loud"}, "concise_detailed"),
        ({"region": "atlantis"}, "region"),
        ({"custom_instructions": "x" * 2001}, "custom_instructions"),
        ({"tone": 5}, "tone"),
        ({}, "non_field_errors"),
    ],
)
def test_bad_patch_is_a_400_naming_the_field_and_stores_nothing(manager_api, clone, payload, field):
    response = manager_api.patch("/api/v1/clones/rory-1/persona/", payload, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not PersonaVersion.objects.exists()
    clone.refresh_from_db()
    assert clone.formal_casual == 20


def test_persona_endpoint_refuses_post_and_delete(manager_api, clone):
    assert manager_api.post("/api/v1/clones/rory-1/persona/", {}, format="json").status_code == 405
    assert manager_api.delete("/api/v1/clones/rory-1/persona/").status_code == 405
