"""Reading an action by id with SQL compiled once (apps/web/compiled.py): the same record,
related rows and errors as the ORM's ``get``, in the organisation of the moment."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.approvals.models import ProposedAction
from apps.approvals.selectors import _with_related, action_get, sees_every_action
from apps.approvals.services import action_decide
from tests.conftest import ORG_HOST
from tests.factories.agents import CloneFactory
from tests.factories.approvals import PendingActionFactory
from tests.factories.crm import AccountFactory

pytestmark = pytest.mark.django_db


def _fields(action: ProposedAction) -> dict:
    return {field.attname: getattr(action, field.attname) for field in action._meta.fields}


def test_an_action_reads_as_the_orm_reads_it_with_its_related_rows(manager, propose, deal):
    clone = CloneFactory(external_id="clone-7")
    action = propose(amount=Decimal("75000.50"), deal=deal, clone=clone, payload={"n": [1, 2]})
    action_decide(action_id=action.pk, user=manager, decision="approve", reason="Fine.")
    expected = _with_related(ProposedAction.objects.all()).get(pk=action.pk)

    for _ in range(2):  # the first read compiles, the second reuses
        with CaptureQueriesContext(connection) as queries:
            read = action_get(action.pk, user=manager)
            related = (read.account.name, read.deal.external_id, read.clone.external_id)
            decider = read.decided_by.username
        assert len(queries) == 1
        assert _fields(read) == _fields(expected)
        assert read.amount == Decimal("75000.50") and read.payload == {"n": [1, 2]}
        assert related == ("Acme Robotics", "deal-1", "clone-7") and decider == manager.username
        assert read._state.db == "default" and not read._state.adding


def test_missing_relations_read_as_none(manager, propose):
    read = action_get(propose().pk, user=manager)
    assert read.deal is None and read.clone is None and read.decided_by is None


def test_an_unknown_id_is_does_not_exist(manager, propose):
    propose()
    with pytest.raises(ProposedAction.DoesNotExist):
        action_get(10**12, user=manager)


def test_the_compiled_read_stays_in_the_organisation(
    manager, propose, other_org, other_org_manager, in_org
):
    """One compiled statement serves every organisation: each reads its own schema, so an
    id (their sequences are separate, so the ids may even be equal) finds only its own."""
    ours = propose(external_id="ours")
    with in_org(other_org):
        theirs = PendingActionFactory(external_id="theirs")
        assert action_get(theirs.pk, user=other_org_manager).external_id == "theirs"
        _assert_not_found_as(ours.pk, "ours", user=other_org_manager)
    assert action_get(ours.pk, user=manager).external_id == "ours"
    _assert_not_found_as(theirs.pk, "theirs", user=manager)


def _assert_not_found_as(pk: int, external_id: str, *, user) -> None:
    try:
        found = action_get(pk, user=user)
    except ProposedAction.DoesNotExist:
        return
    assert found.external_id != external_id


def test_a_rep_still_reads_only_their_accounts(rep, manager, propose):
    """A filtered visibility is not compiled once: the ORM applies the rep's rule."""
    theirs = propose(account=AccountFactory(external_id="rep-acc", owner=rep))
    not_theirs = propose()
    assert action_get(theirs.pk, user=rep).pk == theirs.pk
    with pytest.raises(ProposedAction.DoesNotExist):
        action_get(not_theirs.pk, user=rep)


def test_ids_are_taken_as_the_orm_takes_them(manager, propose):
    action = propose()
    assert action_get(str(action.pk), user=manager).pk == action.pk
    with pytest.raises(ProposedAction.DoesNotExist):  # past bigint: no row, not a 500
        action_get(2**70, user=manager)
    with pytest.raises(ValueError):
        action_get("seven", user=manager)


def test_an_id_past_the_column_range_is_a_404_through_the_api(manager_key, client):
    response = client.get(
        f"/api/v1/actions/{2**70}/", HTTP_AUTHORIZATION=f"Bearer {manager_key}", HTTP_HOST=ORG_HOST
    )
    assert response.status_code == 404


def test_a_decision_answers_the_action_as_reading_it_afterwards_would(manager_api, propose, deal):
    """Deciding reads the action back in its own statement (as it was before), with the
    decision's fields set on it: the answer is the record as stored."""
    action = propose(amount=Decimal("75000"), deal=deal, clone=CloneFactory(external_id="c-1"))
    url = f"/api/v1/actions/{action.pk}/"
    decided = manager_api.post(
        f"{url}decision/", {"decision": "reject", "reason": "Not now."}, format="json"
    )
    assert decided.status_code == 200
    assert decided.json() == manager_api.get(url).json()
    assert decided.json()["status"] == "rejected" and decided.json()["clone"] == "c-1"


@pytest.mark.parametrize("pk", ["seven", str(2**70)])
def test_deciding_an_id_that_cannot_exist_is_a_404(manager_api, pk):
    response = manager_api.post(f"/api/v1/actions/{pk}/decision/", {"decision": "approve"})
    assert response.status_code == 404


def test_a_page_decision_with_a_bad_value_shows_the_item_again(page_client, manager, propose):
    action = propose(amount=Decimal("75000"))
    response = page_client(manager).post(
        f"/approvals/{action.pk}/decide/", {"decision": "maybe"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 400
    assert f"/approvals/{action.pk}/decide/" in response.content.decode()  # its form
    action.refresh_from_db()
    assert action.status == "pending"


def test_only_a_visibility_rule_that_filters_nothing_reads_through_the_compiled_sql(manager, rep):
    from apps.outcomes.selectors import _OUTCOME_BY_ID, outcomes_visible_to

    assert sees_every_action(manager) and not sees_every_action(rep)
    assert _OUTCOME_BY_ID.covers(outcomes_visible_to(manager))
    assert not _OUTCOME_BY_ID.covers(outcomes_visible_to(rep))
