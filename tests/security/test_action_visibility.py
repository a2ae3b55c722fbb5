"""Issue 20.3: a rep reads only the proposed actions on accounts they own, like every other
rep-facing endpoint (the accounts' one visibility rule, ``accounts_visible_to``)."""

from __future__ import annotations

import pytest

from tests.factories.approvals import PendingActionFactory
from tests.factories.crm import AccountFactory


@pytest.fixture
def actions(rep):
    mine = PendingActionFactory(account=AccountFactory(owner=rep, name="Rory's account"))
    theirs = PendingActionFactory(account=AccountFactory(owner=None, name="Someone else's"))
    return mine, theirs


def _ids(response) -> set[int]:
    assert response.status_code == 200
    return {row["id"] for row in response.json()["results"]}


def test_rep_lists_only_actions_on_their_own_accounts(api_client, rep_key, actions):
    mine, theirs = actions
    assert _ids(api_client(rep_key).get("/api/v1/actions/")) == {mine.pk}


def test_rep_gets_404_for_an_action_on_an_account_they_do_not_own(api_client, rep_key, actions):
    mine, theirs = actions
    client = api_client(rep_key)
    assert client.get(f"/api/v1/actions/{mine.pk}/").status_code == 200
    response = client.get(f"/api/v1/actions/{theirs.pk}/")
    assert response.status_code == 404
    assert "Someone else" not in response.content.decode()


def test_rep_with_a_session_is_scoped_too(api_client, rep, actions):
    mine, theirs = actions
    client = api_client(user=rep)
    assert _ids(client.get("/api/v1/actions/")) == {mine.pk}
    assert client.get(f"/api/v1/actions/{theirs.pk}/").status_code == 404


def test_rep_filters_cannot_widen_the_scope(api_client, rep_key, actions):
    mine, theirs = actions
    response = api_client(rep_key).get("/api/v1/actions/", {"status": "pending"})
    assert _ids(response) == {mine.pk}


@pytest.mark.parametrize("who", ["manager_key", "agent_key"])
def test_managers_and_the_agent_still_see_every_action(request, api_client, actions, who):
    key = request.getfixturevalue(who)
    assert _ids(api_client(key).get("/api/v1/actions/")) == {a.pk for a in actions}


def test_rep_cannot_open_the_history_or_detail_pages(page_client, rep, actions):
    client = page_client(rep)
    assert client.get("/approvals/history/").status_code == 403
    assert client.get(f"/approvals/{actions[1].pk}/").status_code == 403


def test_managers_history_page_still_shows_every_decided_action(page_client, manager, rep):
    decided = PendingActionFactory(
        account=AccountFactory(owner=rep), status="expired", category="approval_required"
    )
    other = PendingActionFactory(status="expired", category="approval_required")
    page = page_client(manager).get("/approvals/history/").content.decode()
    assert decided.account.name in page and other.account.name in page


def test_rep_list_runs_a_fixed_number_of_queries(
    api_client, rep_key, rep, django_assert_max_num_queries
):
    for _ in range(30):
        PendingActionFactory(account=AccountFactory(owner=rep))
        PendingActionFactory()
    client = api_client(rep_key)
    with django_assert_max_num_queries(7):  # + is this rep standing in for an approver?
        assert len(_ids(client.get("/api/v1/actions/"))) == 30


def test_another_organisations_rep_key_sees_nothing_here(api_client, other_agent_key, actions):
    assert api_client(other_agent_key).get("/api/v1/actions/").status_code == 401


def test_no_list_endpoint_shows_a_rep_anything_of_an_account_they_do_not_own(
    api_client, rep_key, rep, manager_api
):
    """The same cause elsewhere: every rep-facing list, read with a rep's key, against
    data on an account someone else owns (its external id and name must never appear)."""
    from tests.factories.insights import InsightFactory
    from tests.factories.outcomes import OutcomeFactory

    secret = AccountFactory(external_id="acc-secret-7731", name="Zebulon Secret Holdings")
    PendingActionFactory(account=secret, external_id="prop-secret-7731")
    OutcomeFactory(account=secret, external_id="out-secret-7731")
    InsightFactory(account=secret, title="Zebulon churn risk")
    client = api_client(rep_key)
    schema = manager_api.get("/api/schema/", {"format": "json"}).json()
    leaks = {}
    for path, operations in schema["paths"].items():
        if "get" not in operations or "{" in path or path.endswith("/stream/"):
            continue
        body = client.get(path).content.decode()
        if "secret-7731" in body or "Zebulon" in body:
            leaks[path] = body[:200]
    assert leaks == {}
