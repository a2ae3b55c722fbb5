from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.cache import cache

from apps.approvals.services import action_propose
from tests.factories.crm import AccountFactory, DealFactory


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Pages cache autonomy suggestions per organisation; each test starts without them."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def account(org):
    return AccountFactory(external_id="acc-1", name="Acme Robotics")


@pytest.fixture
def deal(account):
    return DealFactory(external_id="deal-1", account=account, amount=Decimal("80000"))


@pytest.fixture
def propose(account):
    """``propose(**overrides)``: a proposal through the service, as the agent would make it."""
    counter = iter(range(1, 10_000))

    def make(**overrides):
        values = {
            "external_id": f"p-{next(counter)}",
            "action_type": "email_sent",
            "account": account,
            "proposed_by": "agent:test",
            "payload": {"subject": "Follow-up", "to": "dana@example.com"},
            "rationale": "They opened the last email three times.",
            "confidence": 0.8,
        }
        values.update(overrides)
        return action_propose(**values)[0]

    return make


@pytest.fixture
def pending(propose):
    """A proposal the guardrails hold for approval (amount from 50,000)."""
    return propose(amount=Decimal("75000"))


@pytest.fixture
def other_manager_client(page_client, in_org, other_org, other_org_manager):
    """A browser logged in as a manager of the other organisation, on its host."""
    with in_org(other_org):
        return page_client(other_org_manager, host="globex.localhost")
