"""Correcting outcomes: PATCH fixes details, DELETE is a soft delete an admin can undo;
both audited, agent key or admin only, never across organisations."""

from __future__ import annotations

import pytest
from django.db import connection

from apps.outcomes.models import OutcomeChange, OutcomeRecord
from apps.outcomes.selectors import calibration_report
from apps.outcomes.services import calibration_recompute, outcomes_expire
from apps.users.services import api_key_create
from tests.conftest import OTHER_HOST
from tests.factories.crm import AccountFactory, DealFactory
from tests.factories.outcomes import CloneFactory, OutcomeFactory, action_type


@pytest.fixture
def account(org):
    return AccountFactory(external_id="acc-c")


@pytest.fixture
def record(account):
    return OutcomeFactory(account=account, external_id="out-c", metadata={"model": "v1"})


def url(record) -> str:
    return f"/api/v1/outcomes/{record.pk}/"


def test_an_agent_corrects_output_metadata_deal_and_clone_and_the_history_says_so(
    agent_api, record, account
):
    deal = DealFactory(account=account, external_id="deal-c")
    clone = CloneFactory(external_id="clone-c")
    response = agent_api.patch(
        url(record),
        {
            "output_text": "Hi Dana, corrected.",
            "metadata": {"model": "v2"},
            "deal": "deal-c",
            "clone": "clone-c",
        },
        format="json",
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["output_text"], body["metadata"], body["deal"], body["clone"]) == (
        "Hi Dana, corrected.",
        {"model": "v2"},
        "deal-c",
        "clone-c",
    )
    stored = OutcomeRecord.objects.get(pk=record.pk)
    assert (stored.deal, stored.clone) == (deal, clone)
    (change,) = OutcomeChange.objects.filter(outcome=record)
    assert change.kind == "corrected" and change.actor == "agent:agent"
    assert change.changes["metadata"] == {"from": {"model": "v1"}, "to": {"model": "v2"}}
    assert change.changes["deal"] == {"from": None, "to": "deal-c"}


def test_the_same_correction_twice_is_recorded_once(agent_api, record):
    for _ in range(2):
        assert agent_api.patch(url(record), {"output_text": "x"}, format="json").status_code == 200
    assert OutcomeChange.objects.filter(outcome=record).count() == 1


@pytest.mark.parametrize(
    "field, value",
    [
        ("external_id", "new-id"),
        ("action_type", "meeting_request"),
        ("account", "acc-other"),
        ("predicted_confidence", 0.1),
        ("status", "resolved"),
    ],
)
def test_identity_and_outcome_fields_cannot_be_corrected(agent_api, record, field, value):
    AccountFactory(external_id="acc-other")
    response = agent_api.patch(url(record), {field: value, "output_text": "x"}, format="json")

    assert response.status_code == 400
    assert response.json() == {field: ["This field cannot be corrected."]}
    stored = OutcomeRecord.objects.get(pk=record.pk)
    assert stored.output_text == record.output_text
    assert not OutcomeChange.objects.exists()


def test_a_deal_of_another_account_is_a_400(agent_api, record):
    DealFactory(external_id="deal-x")
    response = agent_api.patch(url(record), {"deal": "deal-x"}, format="json")
    assert response.status_code == 400 and "deal" in response.json()
    assert OutcomeRecord.objects.get(pk=record.pk).deal is None


def test_bad_values_are_a_400_naming_the_field(agent_api, record):
    assert agent_api.patch(url(record), {"metadata": [1]}, format="json").status_code == 400
    response = agent_api.patch(url(record), {"output_text": "a\x00b"}, format="json")
    assert response.status_code == 400 and "output_text" in response.json()


def test_an_admin_personal_key_may_correct_and_is_named(api_client, admin_user, record):
    _, key = api_key_create(name="ada's key", user=admin_user)
    response = api_client(key).patch(url(record), {"output_text": "fixed"}, format="json")

    assert response.status_code == 200
    assert OutcomeChange.objects.get(outcome=record).actor.startswith("ada (key ")


@pytest.mark.parametrize("role_key", ["manager_key", "rep_key"])
def test_managers_and_reps_cannot_correct_or_delete(api_client, request, record, role_key):
    client = api_client(request.getfixturevalue(role_key))
    assert client.patch(url(record), {"output_text": "x"}, format="json").status_code == 403
    assert client.delete(url(record)).status_code == 403
    stored = OutcomeRecord.objects.get(pk=record.pk)
    assert stored.output_text == record.output_text and stored.deleted_at is None


def test_put_is_not_allowed(agent_api, record):
    assert agent_api.put(url(record), {"output_text": "x"}, format="json").status_code == 405


def test_another_organisation_cannot_correct_or_delete_our_outcome(
    api_client, other_agent_key, record, org, in_org
):
    other = api_client(other_agent_key, host=OTHER_HOST)
    assert other.patch(url(record), {"output_text": "x"}, format="json").status_code == 404
    assert other.delete(url(record)).status_code == 404
    connection.set_tenant(org)
    stored = OutcomeRecord.objects.get(pk=record.pk)
    assert stored.output_text == record.output_text and stored.deleted_at is None
    assert not OutcomeChange.objects.exists()


def test_correct_and_delete_run_a_fixed_number_of_queries(
    agent_api, record, account, django_assert_max_num_queries
):
    DealFactory(account=account, external_id="deal-q")
    with django_assert_max_num_queries(14):
        agent_api.patch(url(record), {"deal": "deal-q", "metadata": {"a": 1}}, format="json")
    with django_assert_max_num_queries(10):
        assert agent_api.delete(url(record)).status_code == 204


def test_a_deleted_outcome_leaves_lists_detail_and_calibration(agent_api, account):
    kept = OutcomeFactory(account=account, predicted_confidence=0.35)
    deleted = OutcomeFactory(account=account, predicted_confidence=0.35)
    outcomes_expire(now=deleted.window_ends_at)

    assert agent_api.delete(url(deleted)).status_code == 204

    listed = [item["id"] for item in agent_api.get("/api/v1/outcomes/").json()["results"]]
    assert listed == [kept.pk]
    assert agent_api.get(url(deleted)).status_code == 404
    assert agent_api.delete(url(deleted)).status_code == 404
    calibration_recompute(action_type=action_type("email_sent"))
    assert calibration_report(action_type=action_type("email_sent"))["bins"][3]["count"] == 1
    (change,) = OutcomeChange.objects.filter(outcome_id=deleted.pk)
    assert (change.kind, change.actor) == ("deleted", "agent:agent")


def test_a_deleted_outcome_leaves_the_outcomes_page(page_client, manager, account):
    kept = OutcomeFactory(account=account, external_id="kept-1")
    gone = OutcomeFactory(account=account, external_id="gone-1")
    OutcomeRecord.objects.filter(pk=gone.pk).update(deleted_at=kept.created_at)

    page = page_client(manager).get("/outcomes/").content.decode()
    assert f"/outcomes/{kept.pk}/" in page and f"/outcomes/{gone.pk}/" not in page
    assert page_client(manager).get(f"/outcomes/{gone.pk}/").status_code == 404


def test_reposting_a_deleted_external_id_is_a_409_naming_it_on_both_endpoints(agent_api, record):
    agent_api.delete(url(record))
    item = {
        "external_id": "out-c",
        "action_type": "email_sent",
        "account": "acc-c",
        "predicted_confidence": 0.5,
    }

    single = agent_api.post("/api/v1/outcomes/", item, format="json")
    bulk = agent_api.post("/api/v1/outcomes/bulk/", {"outcomes": [item]}, format="json")

    assert single.status_code == 409
    assert single.json()["id"] == record.pk
    assert f"Outcome {record.pk} " in single.json()["detail"]
    (result,) = bulk.json()["results"]
    assert result["status"] == "error"
    assert result["errors"] == {"external_id": single.json()["detail"]}
    assert OutcomeRecord.all_objects.filter(external_id="out-c").count() == 1


def test_an_admin_restores_a_deleted_outcome_in_the_admin(
    agent_api, page_client, admin_user, record
):
    agent_api.delete(url(record))
    client = page_client(admin_user)
    listing = client.get("/admin/outcomes/outcomerecord/?deleted=yes")
    assert listing.status_code == 200 and "out-c" in listing.content.decode()

    response = client.post(
        "/admin/outcomes/outcomerecord/",
        {"action": "restore", "_selected_action": [record.pk]},
    )

    assert response.status_code == 302
    assert OutcomeRecord.objects.get(pk=record.pk).deleted_at is None
    assert agent_api.get(url(record)).status_code == 200
    kinds = list(OutcomeChange.objects.filter(outcome=record).values_list("kind", "actor"))
    assert kinds == [("deleted", "agent:agent"), ("restored", "ada")]
    history = client.get(f"/admin/outcomes/outcomerecord/{record.pk}/change/")
    assert "restored" in history.content.decode().lower()


def test_the_outcome_page_shows_the_history_of_corrections(agent_api, page_client, manager, record):
    agent_api.patch(url(record), {"output_text": "Corrected text"}, format="json")

    page = page_client(manager).get(f"/outcomes/{record.pk}/").content.decode()

    assert "History" in page and "Corrected by agent:agent: output_text" in page


def test_our_deleted_external_id_stays_free_in_another_organisation(
    agent_api, api_client, other_agent_key, record, org, other_org, in_org
):
    agent_api.delete(url(record))
    with in_org(other_org):
        AccountFactory(external_id="acc-c")
    item = {
        "external_id": "out-c",
        "action_type": "email_sent",
        "account": "acc-c",
        "predicted_confidence": 0.5,
    }

    response = api_client(other_agent_key, host=OTHER_HOST).post(
        "/api/v1/outcomes/", item, format="json"
    )

    assert response.status_code == 201
    connection.set_tenant(org)
    assert OutcomeRecord.all_objects.get(external_id="out-c").deleted_at is not None


@pytest.mark.parametrize(
    "value, message",
    [
        ("x" * 50_001, "Ensure this field has no more than 50000 characters."),
        (12, "Must be text."),
    ],
)
def test_a_correction_is_held_to_the_recording_messages(agent_api, record, value, message):
    response = agent_api.patch(url(record), {"output_text": value}, format="json")
    assert response.status_code == 400
    assert response.json() == {"output_text": [message]}
