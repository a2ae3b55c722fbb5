"""Guardrails classify each proposal; the org edits the rules."""

from __future__ import annotations

from decimal import Decimal

import pytest

from apps.approvals.models import GuardrailRule
from tests.factories.crm import InteractionFactory

URL = "/api/v1/actions/"


def _propose(agent_api, **fields):
    body = {
        "external_id": "act-1",
        "action_type": "email_sent",
        "account": "acc-1",
        "payload": {"subject": "Hello"},
        "rationale": "Warm lead",
        "confidence": 0.9,
        **fields,
    }
    response = agent_api.post(URL, body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_a_small_known_action_is_autonomous_and_approved_at_once(agent_api, account):
    data = _propose(agent_api, amount="1200")

    assert data["category"] == "autonomous"
    assert data["status"] == "approved"
    assert data["reasons"] == ["No guardrail applies: the agent may act on its own."]
    assert data["decided_at"] is not None and data["decided_by"] is None


@pytest.mark.parametrize("action_type", ["contract_send", "pricing_commitment"])
def test_contract_and_pricing_commitment_actions_are_hard_stops(agent_api, account, action_type):
    data = _propose(agent_api, action_type=action_type)

    assert data["category"] == "hard_stop"
    assert data["status"] == "blocked"
    assert any(action_type in reason for reason in data["reasons"])


def test_a_discount_over_20_percent_is_a_hard_stop(agent_api, account):
    data = _propose(agent_api, action_type="discount_offer", discount_pct="25")

    assert data["category"] == "hard_stop"
    assert "discount 25 % is over 20 %" in " ".join(data["reasons"])


def test_a_discount_of_exactly_20_percent_is_not_a_hard_stop(agent_api, account):
    data = _propose(agent_api, discount_pct="20")

    assert data["category"] == "autonomous"


def test_an_amount_from_50000_needs_approval_and_just_below_does_not(agent_api, account):
    at_threshold = _propose(agent_api, external_id="a", amount="50000")
    below = _propose(agent_api, external_id="b", amount="49999.99")

    assert (at_threshold["category"], at_threshold["status"]) == ("approval_required", "pending")
    assert "amount 50,000 is at least 50,000" in at_threshold["reasons"][0]
    assert at_threshold["expires_at"] is not None
    assert below["category"] == "autonomous"


def test_an_unknown_action_type_needs_approval(agent_api, account):
    data = _propose(agent_api, action_type="linkedin_message")

    assert data["category"] == "approval_required"
    assert "'linkedin_message' is not defined" in data["reasons"][0]


def test_first_contact_with_an_executive_needs_approval(agent_api, account):
    data = _propose(agent_api, payload={"contact_name": "Dana Kim", "contact_title": "CFO"})

    assert data["category"] == "approval_required"
    assert "First contact with an executive: Dana Kim (CFO)" in data["reasons"][0]


def test_an_executive_already_in_touch_with_the_account_is_not_a_first_contact(agent_api, account):
    InteractionFactory(account=account, contact_name="Dana Kim", contact_title="CFO")

    data = _propose(agent_api, payload={"contact_name": "Dana Kim", "contact_title": "CFO"})

    assert data["category"] == "autonomous"


def test_a_non_executive_contact_is_not_held(agent_api, account):
    data = _propose(agent_api, payload={"contact_name": "Tom Berg", "contact_title": "IT Manager"})

    assert data["category"] == "autonomous"


def test_the_strictest_rule_wins_and_every_reason_is_reported(agent_api, account):
    data = _propose(agent_api, action_type="contract_send", amount="90000", discount_pct="30")

    assert data["category"] == "hard_stop"
    assert len(data["reasons"]) == 4  # contract, discount, amount, unknown type


def test_an_admin_edited_threshold_changes_the_classification(agent_api, account):
    GuardrailRule.objects.filter(kind="amount_at_least").update(threshold=Decimal("1000"))

    data = _propose(agent_api, amount="1500")

    assert data["category"] == "approval_required"


def test_a_deactivated_rule_no_longer_fires(agent_api, account):
    GuardrailRule.objects.filter(kind="unknown_action_type").update(is_active=False)

    data = _propose(agent_api, action_type="linkedin_message")

    assert data["category"] == "autonomous"


def test_an_org_can_add_a_low_confidence_rule(agent_api, account):
    GuardrailRule.objects.create(
        name="Unsure agent", kind="low_confidence", threshold=Decimal("0.5")
    )

    unsure = _propose(agent_api, external_id="a", confidence=0.3)
    sure = _propose(agent_api, external_id="b", confidence=0.9)

    assert unsure["category"] == "approval_required"
    assert sure["category"] == "autonomous"


def test_the_defaults_are_seeded_for_every_new_organisation(org):
    kinds = set(GuardrailRule.objects.values_list("kind", "category"))

    assert ("discount_over", "hard_stop") in kinds
    assert ("amount_at_least", "approval_required") in kinds
    assert ("unknown_action_type", "approval_required") in kinds
    assert set(
        GuardrailRule.objects.filter(kind="action_type").values_list("action_type", flat=True)
    ) == {"contract_send", "pricing_commitment"}


def test_riskier_proposals_get_a_higher_risk_score(propose):
    mild = propose(amount=Decimal("50000"), confidence=0.95)
    risky = propose(action_type="new_type", amount=Decimal("240000"), confidence=0.3)

    assert risky.risk > mild.risk
    assert 0 <= mild.risk <= 100 and 0 <= risky.risk <= 100
