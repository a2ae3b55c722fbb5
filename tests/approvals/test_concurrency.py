"""Two managers deciding the same action at the same moment: exactly one wins.

Real PostgreSQL connections, one per thread, on committed data (``fresh_org``).
"""

from __future__ import annotations

import threading
from decimal import Decimal

from django.db import connection
from django_tenants.utils import schema_context

from apps.approvals.models import ActionEvent, ProposedAction
from apps.approvals.services import DecisionConflict, action_decide, action_propose
from tests.factories.crm import AccountFactory
from tests.factories.users import UserFactory


def _race(schema: str, action_id: int, deciders: list, decision_of) -> list:
    """Every decider decides at once (a barrier releases them); returns what each got."""
    barrier = threading.Barrier(len(deciders))
    results: list = [None] * len(deciders)

    def decide(index: int, user) -> None:
        try:
            with schema_context(schema):
                barrier.wait()
                decision, reason = decision_of(index)
                try:
                    results[index] = action_decide(
                        action_id=action_id, user=user, decision=decision, reason=reason
                    )
                except DecisionConflict as conflict:
                    results[index] = conflict
        finally:
            connection.close()

    threads = [threading.Thread(target=decide, args=(i, u)) for i, u in enumerate(deciders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def test_concurrent_deciders_make_exactly_one_decision_and_the_others_learn_who_won(fresh_org):
    maria = UserFactory(username="maria", role="manager", first_name="Maria", last_name="Lind")
    ada = UserFactory(username="ada", role="admin", first_name="Ada", last_name="Moreau")
    crowd = [UserFactory(username=f"m{i}", role="manager") for i in range(6)]
    account = AccountFactory()

    def proposal(external_id: str) -> ProposedAction:
        action, _ = action_propose(
            external_id=external_id,
            action_type="email_sent",
            account=account,
            amount=Decimal("90000"),
            proposed_by="agent",
        )
        return action

    # Two managers, one approving and one rejecting, a few rounds so that either may win.
    for round_number in range(4):
        action = proposal(f"race-{round_number}")
        results = _race(
            fresh_org.schema_name,
            action.pk,
            [maria, ada],
            lambda index: ("approve", "") if index == 0 else ("reject", "Not this one"),
        )

        winners = [r for r in results if isinstance(r, ProposedAction)]
        losers = [r for r in results if isinstance(r, DecisionConflict)]
        assert len(winners) == 1 and len(losers) == 1
        winner = winners[0]
        verb = "approved" if winner.status == "approved" else "rejected"
        assert f"Already {verb} by {winner.decided_by.get_full_name()}" in str(losers[0])
        decisions = ActionEvent.objects.filter(action=action, kind__in=["approved", "rejected"])
        assert decisions.count() == 1

    # A crowd of approvers on one action.
    action = proposal("crowd")
    results = _race(fresh_org.schema_name, action.pk, crowd, lambda index: ("approve", ""))

    assert sum(isinstance(r, ProposedAction) for r in results) == 1
    assert sum(isinstance(r, DecisionConflict) for r in results) == len(crowd) - 1
    assert ActionEvent.objects.filter(action=action, kind="approved").count() == 1
