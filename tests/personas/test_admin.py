"""Admin for clones and region profiles: lists open, slider edits are versioned."""

from __future__ import annotations

from apps.agents.models import RegionProfile
from tests.factories.personas import CloneFactory


def test_admin_lists_clones_and_region_profiles(page_client, admin_user):
    CloneFactory(name="Rory's clone")
    client = page_client(admin_user)
    assert "Rory&#x27;s clone" in client.get("/admin/agents/clone/").text
    regions = client.get("/admin/agents/regionprofile/")
    assert regions.status_code == 200 and "Japan" in regions.text


def test_region_profiles_are_seeded_for_every_organisation(org):
    assert set(RegionProfile.objects.values_list("code", flat=True)) >= {
        "us",
        "uk",
        "dach",
        "nordics",
        "france",
        "japan",
    }


def test_changing_sliders_in_the_admin_keeps_a_version(page_client, admin_user, rep):
    clone = CloneFactory(owner=rep, name="Rory's clone")
    response = page_client(admin_user).post(
        f"/admin/agents/clone/{clone.pk}/change/",
        {
            "external_id": clone.external_id,
            "name": "Rory's clone",
            "owner": rep.pk,
            "is_active": "on",
            "formal_casual": "75",
            "concise_detailed": "50",
            "technical_business": "50",
            "proactive_reactive": "50",
            "region": "",
            "custom_instructions": "",
            "versions-TOTAL_FORMS": "0",
            "versions-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302
    clone.refresh_from_db()
    assert clone.formal_casual == 75
    assert list(clone.versions.values_list("number", "note")) == [
        (2, "Changed in the admin"),
        (1, "Initial settings"),
    ]


def test_admin_refuses_a_slider_above_100(page_client, admin_user, rep):
    clone = CloneFactory(owner=rep)
    response = page_client(admin_user).post(
        f"/admin/agents/clone/{clone.pk}/change/",
        {
            "external_id": clone.external_id,
            "name": clone.name,
            "owner": rep.pk,
            "formal_casual": "175",
            "concise_detailed": "50",
            "technical_business": "50",
            "proactive_reactive": "50",
            "versions-TOTAL_FORMS": "0",
            "versions-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200 and "errorlist" in response.text
    clone.refresh_from_db()
    assert clone.formal_casual == 50 and not clone.versions.exists()


def test_rep_cannot_open_the_clone_admin(page_client, rep):
    assert page_client(rep).get("/admin/agents/clone/").status_code == 302
