"""The agent proposes and polls; managers decide once; the agent reports results."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.approvals.models import ActionEvent, ProposedAction
from apps.approvals.services import action_decide, action_propose
from apps.outcomes.models import OutcomeRecord
from tests.factories.approvals import PendingActionFactory
from tests.factories.crm import AccountFactory

URL = "/api/v1/actions/"


def _body(**fields):
    return {
        "external_id": "act-1",
        "action_type": "email_sent",
        "account": "acc-1",
        "payload": {"subject": "Proposal", "to": "dana@example.com"},
        "rationale": "Asked for a proposal in the last call.",
        "amount": "60000",
        "confidence": 0.7,
        **fields,
    }


# --- proposing ---------------------------------------------------------------------------


def test_proposing_again_with_the_same_external_id_returns_the_first_proposal(agent_api, account):
    first = agent_api.post(URL, _body(), format="json")
    again = agent_api.post(URL, _body(amount="10"), format="json")

    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["amount"] == "60000.00"
    assert ProposedAction.objects.count() == 1


def test_a_proposal_names_what_the_agent_relies_on(agent_api, account, deal):
    data = agent_api.post(URL, _body(deal="deal-1"), format="json").json()

    for field in ["id", "category", "status", "reasons", "decided_by", "decided_at"]:
        assert field in data
    assert data["deal"] == "deal-1"
    assert data["account"] == "acc-1"


@pytest.mark.parametrize(
    ("fields", "bad_field"),
    [
        ({"account": "acc-404"}, "account"),
        ({"deal": "deal-404"}, "deal"),
        ({"confidence": 1.5}, "confidence"),
        ({"discount_pct": "120"}, "discount_pct"),
        ({"amount": "-5"}, "amount"),
        ({"amount": "lots"}, "amount"),
        ({"action_type": "has spaces"}, "action_type"),
        ({"external_id": ""}, "external_id"),
        ({"payload": "not an object"}, "payload"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_nothing_is_stored(
    agent_api, account, fields, bad_field
):
    response = agent_api.post(URL, _body(**fields), format="json")

    assert response.status_code == 400
    assert bad_field in response.json()
    assert not ProposedAction.objects.exists()


def test_a_deal_of_another_account_is_refused(agent_api, account, deal):
    AccountFactory(external_id="acc-2")

    response = agent_api.post(URL, _body(account="acc-2", deal="deal-1"), format="json")

    assert response.status_code == 400
    assert "deal" in response.json()


def test_reps_cannot_propose(api_client, rep_key, account):
    response = api_client(rep_key).post(URL, _body(), format="json")

    assert response.status_code == 403


def test_no_key_is_401(api_client, account):
    assert api_client().post(URL, _body(), format="json").status_code == 401


# --- polling -----------------------------------------------------------------------------


def test_the_agent_polls_the_status_and_sees_the_decision(agent_api, pending, manager):
    action_decide(action_id=pending.pk, user=manager, decision="reject", reason="Too early")

    data = agent_api.get(f"{URL}{pending.pk}/").json()

    assert data["status"] == "rejected"
    assert data["decided_by"] == "maria"
    assert data["decision_reason"] == "Too early"


def test_an_action_of_another_organisation_is_a_404(api_client, other_agent_key, pending):
    response = api_client(other_agent_key, host="globex.localhost").get(f"{URL}{pending.pk}/")

    assert response.status_code == 404


def test_the_list_does_not_show_another_organisations_actions(
    agent_api, api_client, other_agent_key, other_org, in_org, pending
):
    with in_org(other_org):
        PendingActionFactory(external_id="theirs", account=AccountFactory(external_id="g-1"))

    ours = agent_api.get(URL).json()["results"]
    theirs = api_client(other_agent_key, host="globex.localhost").get(URL).json()["results"]

    assert [row["external_id"] for row in ours] == [pending.external_id]
    assert [row["external_id"] for row in theirs] == ["theirs"]


def test_listing_filters_by_status_with_a_fixed_number_of_queries(
    agent_api, account, django_assert_max_num_queries
):
    PendingActionFactory.create_batch(3, account=account)
    with django_assert_max_num_queries(6):
        small = agent_api.get(URL, {"status": "pending"})
    PendingActionFactory.create_batch(40, account=account)
    with django_assert_max_num_queries(6):
        big = agent_api.get(URL, {"status": "pending"})

    assert len(small.json()["results"]) == 3
    assert len(big.json()["results"]) == 43


# --- deciding ----------------------------------------------------------------------------


def test_a_manager_approves_by_the_api_and_the_trail_records_it(manager_api, pending):
    response = manager_api.post(
        f"{URL}{pending.pk}/decision/", {"decision": "approve", "reason": "ok"}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["status"] == "approved"
    assert response.json()["decided_by"] == "maria"
    event = ActionEvent.objects.get(action=pending, kind="approved")
    assert (event.actor.username, event.via, event.ip_address) == ("maria", "api", "127.0.0.1")


def test_an_admin_may_decide(api_client, admin_user, pending):
    from apps.users.services import api_key_create

    key = api_key_create(name="ada", user=admin_user)[1]
    response = api_client(key).post(
        f"{URL}{pending.pk}/decision/", {"decision": "approve"}, format="json"
    )

    assert response.status_code == 200


def test_an_agent_key_can_never_decide(agent_api, pending):
    response = agent_api.post(
        f"{URL}{pending.pk}/decision/", {"decision": "approve"}, format="json"
    )

    assert response.status_code == 403
    pending.refresh_from_db()
    assert pending.status == "pending"


@pytest.mark.parametrize("who", ["rep", "executive"])
def test_reps_and_executives_cannot_decide(api_client, request, pending, who):
    from apps.users.services import api_key_create

    user = request.getfixturevalue(who)
    key = api_key_create(name=who, user=user)[1]

    response = api_client(key).post(
        f"{URL}{pending.pk}/decision/", {"decision": "approve"}, format="json"
    )

    assert response.status_code == 403
    pending.refresh_from_db()
    assert pending.status == "pending"


def test_a_second_decision_gets_409_naming_who_decided_first_and_how(
    manager_api, api_client, admin_user, pending
):
    from apps.users.services import api_key_create

    admin_key = api_key_create(name="ada", user=admin_user)[1]
    api_client(admin_key).post(
        f"{URL}{pending.pk}/decision/",
        {"decision": "reject", "reason": "Wrong contact"},
        format="json",
    )

    response = manager_api.post(
        f"{URL}{pending.pk}/decision/", {"decision": "approve"}, format="json"
    )

    assert response.status_code == 409
    body = response.json()
    assert "Already rejected by Ada Admin" in body["detail"]
    assert "Wrong contact" in body["detail"]
    assert (body["status"], body["decided_by"]) == ("rejected", "ada")
    assert ActionEvent.objects.filter(action=pending).exclude(kind="proposed").count() == 1


def test_rejecting_without_a_reason_is_a_400_and_changes_nothing(manager_api, pending):
    response = manager_api.post(
        f"{URL}{pending.pk}/decision/", {"decision": "reject", "reason": "  "}, format="json"
    )

    assert response.status_code == 400
    assert "reason" in response.json()
    pending.refresh_from_db()
    assert pending.status == "pending"


def test_an_unknown_decision_is_a_400(manager_api, pending):
    response = manager_api.post(
        f"{URL}{pending.pk}/decision/", {"decision": "maybe"}, format="json"
    )

    assert response.status_code == 400
    assert "decision" in response.json()


@pytest.mark.parametrize(
    ("overrides", "status"),
    [({"action_type": "contract_send"}, "blocked"), ({"amount": Decimal("10")}, "approved")],
)
def test_blocked_and_autonomous_actions_cannot_be_decided(manager_api, propose, overrides, status):
    action = propose(**overrides)
    assert action.status == status

    response = manager_api.post(
        f"{URL}{action.pk}/decision/", {"decision": "approve"}, format="json"
    )

    assert response.status_code == 409


def test_deciding_an_unknown_id_is_a_404(manager_api, org):
    response = manager_api.post(f"{URL}999999/decision/", {"decision": "approve"}, format="json")

    assert response.status_code == 404


def test_deciding_another_organisations_action_is_a_404(
    api_client, org, other_org, in_org, other_org_manager, pending
):
    from apps.users.services import api_key_create

    with in_org(other_org):
        key = api_key_create(name="olga", user=other_org_manager)[1]
    response = api_client(key, host="globex.localhost").post(
        f"{URL}{pending.pk}/decision/", {"decision": "approve"}, format="json"
    )

    assert response.status_code == 404
    with in_org(org):
        pending.refresh_from_db()
    assert pending.status == "pending"


def test_deciding_with_get_is_405(manager_api, pending):
    assert manager_api.get(f"{URL}{pending.pk}/decision/").status_code == 405


# --- results -----------------------------------------------------------------------------


def test_the_result_of_an_approved_action_becomes_an_outcome(agent_api, pending, manager):
    action_decide(action_id=pending.pk, user=manager, decision="approve")

    response = agent_api.post(
        f"{URL}{pending.pk}/result/",
        {"success": True, "output_text": "Sent the proposal", "details": {"message_id": "m-1"}},
        format="json",
    )

    assert response.status_code == 200, response.content
    data = response.json()
    assert data["status"] == "executed"
    outcome = OutcomeRecord.objects.get(pk=data["outcome"])
    assert outcome.external_id == f"action:{pending.external_id}"
    assert outcome.action_type.code == "email_sent"
    assert outcome.predicted_confidence == pytest.approx(0.8)
    assert outcome.output_text == "Sent the proposal"
    assert data["outcome_note"] == "Outcome recorded."


def test_an_autonomous_action_reports_its_result_directly(agent_api, propose):
    action = propose(amount=Decimal("100"))

    response = agent_api.post(f"{URL}{action.pk}/result/", {"success": True}, format="json")

    assert response.status_code == 200
    assert response.json()["outcome"] is not None


def test_a_result_for_an_action_type_the_org_does_not_define_is_kept_without_an_outcome(
    agent_api, propose, manager
):
    action = propose(action_type="linkedin_message")
    action_decide(action_id=action.pk, user=manager, decision="approve")

    response = agent_api.post(f"{URL}{action.pk}/result/", {"success": True}, format="json")

    assert response.status_code == 200
    assert response.json()["outcome"] is None
    assert "not defined in this organisation" in response.json()["outcome_note"]
    assert not OutcomeRecord.objects.exists()


def test_a_failed_execution_is_recorded_but_tracks_no_outcome(agent_api, propose):
    action = propose(amount=Decimal("100"))

    response = agent_api.post(
        f"{URL}{action.pk}/result/", {"success": False, "output_text": "bounced"}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["status"] == "executed"
    assert response.json()["outcome"] is None


@pytest.mark.parametrize("state", ["blocked", "rejected", "expired", "pending"])
def test_a_result_for_an_action_that_may_not_run_is_a_409(agent_api, propose, manager, state):
    if state == "blocked":
        action = propose(action_type="contract_send")
    else:
        action = propose(amount=Decimal("70000"))
    if state == "rejected":
        action_decide(action_id=action.pk, user=manager, decision="reject", reason="No")
    if state == "expired":
        ProposedAction.objects.filter(pk=action.pk).update(
            expires_at=timezone.now() - timedelta(minutes=1)
        )
        from apps.approvals.services import actions_expire

        actions_expire()

    response = agent_api.post(f"{URL}{action.pk}/result/", {"success": True}, format="json")

    assert response.status_code == 409
    assert not OutcomeRecord.objects.exists()
    action.refresh_from_db()
    assert action.status == state


def test_a_second_result_is_a_409(agent_api, propose):
    action = propose(amount=Decimal("100"))
    agent_api.post(f"{URL}{action.pk}/result/", {"success": True}, format="json")

    response = agent_api.post(f"{URL}{action.pk}/result/", {"success": True}, format="json")

    assert response.status_code == 409
    assert "already reported" in response.json()["detail"]


def test_a_result_with_bad_input_is_a_400(agent_api, propose):
    action = propose(amount=Decimal("100"))

    response = agent_api.post(
        f"{URL}{action.pk}/result/",
        {"success": "perhaps", "executed_at": "yesterday"},
        format="json",
    )

    assert response.status_code == 400
    assert {"success", "executed_at"} <= set(response.json())


def test_managers_cannot_report_results(manager_api, propose):
    action = propose(amount=Decimal("100"))

    assert manager_api.post(f"{URL}{action.pk}/result/", {}, format="json").status_code == 403


def test_proposing_is_idempotent_in_the_service_too(account):
    first, created = action_propose(
        external_id="x", action_type="email_sent", account=account, proposed_by="agent"
    )
    again, created_again = action_propose(
        external_id="x", action_type="email_sent", account=account, proposed_by="agent"
    )

    assert (created, created_again) == (True, False)
    assert first.pk == again.pk


def test_a_proposal_can_name_the_persona_it_acts_for(agent_api, account, rep):
    from apps.agents.models import Clone

    Clone.objects.create(external_id="clone-1", name="Rory's clone", owner=rep)

    ok = agent_api.post(URL, _body(clone="clone-1"), format="json")
    unknown = agent_api.post(URL, _body(external_id="act-2", clone="clone-404"), format="json")

    assert ok.status_code == 201 and ok.json()["clone"] == "clone-1"
    assert unknown.status_code == 400 and "clone" in unknown.json()
