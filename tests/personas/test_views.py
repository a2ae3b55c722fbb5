"""Persona pages: list, editor, live preview (HTMX and full page), save, revert."""

from __future__ import annotations

import pytest

from apps.agents.models import Clone
from apps.personas.models import PersonaVersion
from apps.personas.services import persona_update
from tests.conftest import OTHER_HOST
from tests.factories.personas import CloneFactory

SETTINGS = {
    "formal_casual": "50",
    "concise_detailed": "50",
    "technical_business": "50",
    "proactive_reactive": "50",
    "region": "",
    "custom_instructions": "",
}


@pytest.fixture
def clone(rep):
    return CloneFactory(owner=rep, external_id="rory-1", name="Rory's clone")


def _htmx(client):
    client.defaults["HTTP_HX_REQUEST"] = "true"
    return client


# list


def test_manager_sees_every_clone_in_the_list(page_client, manager, clone):
    CloneFactory(name="Sam's clone")
    response = page_client(manager).get("/personas/")
    assert response.status_code == 200
    assert "Rory&#x27;s clone" in response.text and "Sam&#x27;s clone" in response.text


def test_rep_sees_only_own_clones(page_client, rep, clone):
    CloneFactory(name="Sam's clone")
    response = page_client(rep).get("/personas/")
    assert "Rory&#x27;s clone" in response.text and "Sam&#x27;s clone" not in response.text


def test_list_shows_no_clone_of_another_organisation(page_client, manager, other_org, in_org):
    with in_org(other_org):
        CloneFactory(name="Globex clone")
    response = page_client(manager).get("/personas/")
    assert "Globex clone" not in response.text and "No agent clones yet" in response.text


def test_list_shows_each_clones_current_version(page_client, manager, clone):
    CloneFactory(name="Untouched")
    persona_update(clone=clone, user=manager, sliders={"formal_casual": 70})
    text = page_client(manager).get("/personas/").text
    assert "v2" in text and "never edited" in text


def test_list_needs_a_login(page_client):
    response = page_client().get("/personas/")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_list_refuses_post(page_client, manager):
    assert page_client(manager).post("/personas/").status_code == 405


def test_list_runs_a_fixed_number_of_queries(page_client, manager, django_assert_max_num_queries):
    client = page_client(manager)
    CloneFactory()
    with django_assert_max_num_queries(8):
        client.get("/personas/")
    CloneFactory.create_batch(20)
    with django_assert_max_num_queries(8):
        assert client.get("/personas/").text.count("Open persona") == 21


# editor


def test_manager_opens_the_editor_with_sliders_and_a_preview(page_client, manager, clone):
    response = page_client(manager).get("/personas/rory-1/")
    assert response.status_code == 200
    for slider in ("formal_casual", "concise_detailed", "technical_business", "proactive_reactive"):
        assert f'name="{slider}"' in response.text
    assert "Sample email" in response.text and "Sample chat reply" in response.text
    assert "Save as version 2" in response.text


def test_owner_rep_can_open_and_save_own_clone(page_client, rep, clone):
    client = page_client(rep)
    assert client.get("/personas/rory-1/").status_code == 200
    response = client.post("/personas/rory-1/", {**SETTINGS, "formal_casual": "90"})
    assert response.status_code == 302
    clone.refresh_from_db()
    assert clone.formal_casual == 90


def test_rep_cannot_open_someone_elses_clone(page_client, rep):
    CloneFactory(external_id="sam-1")
    assert page_client(rep).get("/personas/sam-1/").status_code == 404


def test_executive_can_look_but_not_save(page_client, executive, clone):
    client = page_client(executive)
    page = client.get("/personas/rory-1/")
    assert page.status_code == 200 and "Save as version" not in page.text
    assert client.post("/personas/rory-1/", {**SETTINGS, "formal_casual": "90"}).status_code == 403
    assert not PersonaVersion.objects.exists()


def test_clone_of_another_organisation_is_a_404(page_client, manager, other_org, in_org):
    with in_org(other_org):
        CloneFactory(external_id="globex-1")
    client = page_client(manager)
    assert client.get("/personas/globex-1/").status_code == 404
    assert client.get("/personas/globex-1/preview/", SETTINGS).status_code == 404
    assert client.post("/personas/globex-1/", SETTINGS).status_code == 404


def test_editor_is_not_served_on_another_organisations_host(page_client, manager, clone):
    assert page_client(manager, host=OTHER_HOST).get("/personas/rory-1/").status_code in (302, 403)


def test_editor_refuses_delete(page_client, manager, clone):
    assert page_client(manager).delete("/personas/rory-1/").status_code == 405


def test_saving_creates_a_version_and_shows_it_in_history(page_client, manager, clone):
    client = page_client(manager)
    response = client.post("/personas/rory-1/", {**SETTINGS, "concise_detailed": "90"}, follow=True)
    assert response.status_code == 200
    assert "Saved as version 2." in response.text
    assert "Concise ↔ Detailed: 50 → 90 (more detailed)" in response.text
    version = clone.versions.get(number=2)
    assert version.concise_detailed == 90 and version.created_by == manager


@pytest.mark.parametrize(
    "bad",
    [
        {"formal_casual": "150"},
        {"proactive_reactive": "-3"},
        {"technical_business": "lots"},
        {"custom_instructions": "x" * 2001},
        {"region": "999999"},
    ],
)
def test_bad_input_is_a_400_with_the_form_error_and_nothing_saved(page_client, manager, clone, bad):
    response = page_client(manager).post("/personas/rory-1/", {**SETTINGS, **bad})
    assert response.status_code == 400
    assert 'class="errorlist"' in response.text
    assert not PersonaVersion.objects.exists()
    assert Clone.objects.get(pk=clone.pk).formal_casual == 50


def test_editor_runs_a_fixed_number_of_queries(
    page_client, manager, clone, django_assert_max_num_queries
):
    client = page_client(manager)
    persona_update(clone=clone, user=manager, sliders={"formal_casual": 10})
    with django_assert_max_num_queries(12):
        client.get("/personas/rory-1/")
    for value in range(11, 40):
        persona_update(clone=clone, user=manager, sliders={"formal_casual": value})
    with django_assert_max_num_queries(12):
        assert client.get("/personas/rory-1/").status_code == 200


# live preview


def test_htmx_preview_answers_only_the_fragment_and_follows_the_slider(page_client, manager, clone):
    client = _htmx(page_client(manager))
    formal = client.get("/personas/rory-1/preview/", {**SETTINGS, "formal_casual": "5"})
    casual = client.get("/personas/rory-1/preview/", {**SETTINGS, "formal_casual": "95"})
    assert formal.status_code == casual.status_code == 200
    assert "<html" not in formal.text and 'id="preview"' in formal.text
    assert "Unsaved draft" in formal.text
    assert "I trust this message finds you well" in formal.text
    assert "Hey Dana" in casual.text
    assert not PersonaVersion.objects.exists()


def test_preview_without_htmx_shows_the_whole_editor_with_the_draft(page_client, manager, clone):
    response = page_client(manager).get(
        "/personas/rory-1/preview/", {**SETTINGS, "technical_business": "100"}
    )
    assert response.status_code == 200
    assert "<html" in response.text and "ROI" in response.text
    assert 'value="100"' in response.text
    assert "Unsaved draft" in response.text


def test_preview_with_bad_values_is_a_400_both_ways(page_client, manager, clone):
    bad = {**SETTINGS, "formal_casual": "300"}
    assert page_client(manager).get("/personas/rory-1/preview/", bad).status_code == 400
    htmx = _htmx(page_client(manager)).get("/personas/rory-1/preview/", bad)
    assert htmx.status_code == 400 and "The preview needs valid settings" in htmx.text


def test_preview_refuses_post(page_client, manager, clone):
    assert page_client(manager).post("/personas/rory-1/preview/", SETTINGS).status_code == 405


def test_preview_is_allowed_for_roles_that_can_only_read(page_client, executive, clone):
    response = page_client(executive).get("/personas/rory-1/preview/", SETTINGS)
    assert response.status_code == 200


# revert


def test_one_click_revert_restores_an_old_version(page_client, manager, clone):
    persona_update(clone=clone, user=manager, sliders={"formal_casual": 90})
    response = page_client(manager).post("/personas/rory-1/versions/1/revert/", follow=True)
    assert "Reverted to version 1 (saved as version 3)." in response.text
    clone.refresh_from_db()
    assert clone.formal_casual == 50 and clone.versions.count() == 3


def test_reverting_to_the_current_settings_adds_nothing(page_client, manager, clone):
    persona_update(clone=clone, user=manager, sliders={"formal_casual": 90})
    response = page_client(manager).post("/personas/rory-1/versions/2/revert/", follow=True)
    assert "already current" in response.text and clone.versions.count() == 2


def test_revert_needs_the_right_to_edit(page_client, executive, rep, clone, manager):
    persona_update(clone=clone, user=manager, sliders={"formal_casual": 90})
    assert page_client(executive).post("/personas/rory-1/versions/1/revert/").status_code == 403
    other = CloneFactory(external_id="sam-1")
    persona_update(clone=other, user=manager, sliders={"formal_casual": 90})
    assert page_client(rep).post("/personas/sam-1/versions/1/revert/").status_code == 404
    assert Clone.objects.get(pk=clone.pk).formal_casual == 90


def test_revert_of_an_unknown_version_is_a_404_and_get_is_refused(page_client, manager, clone):
    client = page_client(manager)
    assert client.post("/personas/rory-1/versions/7/revert/").status_code == 404
    assert client.get("/personas/rory-1/versions/1/revert/").status_code == 405
