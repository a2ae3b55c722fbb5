"""CRM mirror API: upserts by external id, interactions, stage history, isolation."""

from datetime import date, timedelta
from decimal import Decimal

from django.utils import timezone

from apps.crm.models import Account, Deal, DealStageChange, Interaction
from apps.crm.services import deal_upsert
from tests.conftest import OTHER_HOST
from tests.factories.crm import AccountFactory, DealFactory


def test_account_upsert_creates_then_updates_the_same_row(agent_api, rep):
    first = agent_api.post(
        "/api/v1/accounts/",
        {
            "external_id": "acc-17",
            "name": "Acme Robotics",
            "industry": "manufacturing",
            "owner": "rory",
        },
        format="json",
    )
    again = agent_api.post(
        "/api/v1/accounts/", {"external_id": "acc-17", "name": "Acme Robotics GmbH"}, format="json"
    )

    assert first.status_code == 201 and again.status_code == 200
    assert first.json()["id"] == again.json()["id"]
    assert Account.objects.get(external_id="acc-17").name == "Acme Robotics GmbH"
    assert Account.objects.count() == 1


def test_unknown_owner_is_a_400_naming_the_field_and_stores_nothing(agent_api):
    response = agent_api.post(
        "/api/v1/accounts/", {"external_id": "acc-1", "name": "A", "owner": "ghost"}, format="json"
    )
    assert response.status_code == 400
    assert "owner" in response.json()
    assert not Account.objects.exists()


def test_deal_references_its_account_by_external_id(agent_api):
    AccountFactory(external_id="acc-17")
    response = agent_api.post(
        "/api/v1/deals/",
        {
            "external_id": "d-1",
            "account": "acc-17",
            "name": "Big one",
            "stage": "discovery",
            "amount": "125000.50",
        },
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assert body["account"] == "acc-17" and body["amount"] == "125000.50"


def test_deal_for_an_unknown_account_is_a_400_naming_the_field(agent_api):
    response = agent_api.post(
        "/api/v1/deals/", {"external_id": "d-1", "account": "nope", "name": "x"}, format="json"
    )
    assert response.status_code == 400
    assert "account" in response.json()
    assert not Deal.objects.exists()


def test_deal_upsert_overwrites_what_it_is_sent_and_keeps_an_unsent_close_date(org):
    first = {"external_id": "d-9", "account": AccountFactory(), "stage": "discovery"}
    deal, created = deal_upsert(**first, name="A", amount=Decimal(10), close_date=date(2027, 1, 31))
    assert created and deal.close_date == date(2027, 1, 31)

    again = {**first, "account": AccountFactory(), "stage": "proposal"}
    _, created = deal_upsert(**again, name="B", amount=Decimal(20))
    deal.refresh_from_db()
    assert not created and deal.close_date == date(2027, 1, 31)
    assert (deal.account, deal.name, deal.amount, deal.stage) == (
        again["account"],
        "B",
        Decimal(20),
        "proposal",
    )
    deal_upsert(**again, name="B", amount=Decimal(20), close_date=None)
    deal.refresh_from_db()
    assert deal.close_date is None


def test_negative_amount_and_unknown_stage_are_400(agent_api):
    AccountFactory(external_id="acc-17")
    for bad in ({"amount": "-5"}, {"stage": "won-ish"}):
        payload = {"external_id": "d-1", "account": "acc-17", "name": "x", **bad}
        assert agent_api.post("/api/v1/deals/", payload, format="json").status_code == 400


def test_crm_interaction_with_a_stage_moves_the_deal_and_keeps_the_history(agent_api):
    deal = DealFactory(external_id="d-1", stage="discovery")
    when = timezone.now() - timedelta(hours=2)
    response = agent_api.post(
        "/api/v1/interactions/",
        {
            "account": deal.account.external_id,
            "deal": "d-1",
            "channel": "crm",
            "direction": "outbound",
            "occurred_at": when.isoformat(),
            "stage": "proposal",
        },
        format="json",
    )
    assert response.status_code == 201
    deal.refresh_from_db()
    assert deal.stage == "proposal" and deal.stage_changed_at == when
    change = DealStageChange.objects.get(deal=deal)
    assert (change.from_stage, change.to_stage) == ("discovery", "proposal")


def test_interaction_sentiment_outside_minus_one_to_one_is_400(agent_api):
    account = AccountFactory()
    response = agent_api.post(
        "/api/v1/interactions/",
        {
            "account": account.external_id,
            "channel": "email",
            "direction": "inbound",
            "occurred_at": timezone.now().isoformat(),
            "sentiment": 1.5,
        },
        format="json",
    )
    assert response.status_code == 400 and "sentiment" in response.json()
    assert not Interaction.objects.exists()


def test_interaction_with_an_external_id_is_recorded_once(agent_api):
    account = AccountFactory()
    payload = {
        "external_id": "msg-1",
        "account": account.external_id,
        "channel": "email",
        "direction": "inbound",
        "occurred_at": timezone.now().isoformat(),
    }
    assert agent_api.post("/api/v1/interactions/", payload, format="json").status_code == 201
    assert agent_api.post("/api/v1/interactions/", payload, format="json").status_code == 200
    assert Interaction.objects.count() == 1


def test_a_rep_lists_only_the_accounts_they_own(api_client, rep, rep_key):
    AccountFactory(external_id="mine", owner=rep)
    AccountFactory(external_id="theirs")
    ids = [a["external_id"] for a in api_client(rep_key).get("/api/v1/accounts/").json()["results"]]
    assert ids == ["mine"]


def test_another_org_cannot_see_or_reference_our_accounts(
    api_client, other_agent_key, in_org, other_org
):
    account = AccountFactory(external_id="acc-17")
    other = api_client(other_agent_key, host=OTHER_HOST)

    assert other.get(f"/api/v1/accounts/{account.pk}/").status_code == 404
    assert other.get("/api/v1/accounts/").json()["results"] == []
    response = other.post(
        "/api/v1/deals/", {"external_id": "d", "account": "acc-17", "name": "x"}, format="json"
    )
    assert response.status_code == 400


def test_account_list_runs_a_fixed_number_of_queries(agent_api, django_assert_max_num_queries, rep):
    AccountFactory.create_batch(3, owner=rep)
    with django_assert_max_num_queries(6):
        small = agent_api.get("/api/v1/accounts/")
    AccountFactory.create_batch(60, owner=rep)
    with django_assert_max_num_queries(6):
        big = agent_api.get("/api/v1/accounts/")
    assert len(small.json()["results"]) == 3 and len(big.json()["results"]) == 50


def test_wrong_method_is_405(agent_api):
    assert agent_api.delete("/api/v1/accounts/").status_code == 405


def test_an_inbound_reply_carries_in_reply_to_thread_and_contact_to_the_timeline(
    agent_api, page_client, manager, django_assert_max_num_queries
):
    account = AccountFactory(external_id="acc-r")
    payload = {
        "account": "acc-r",
        "channel": "email",
        "direction": "inbound",
        "occurred_at": timezone.now().isoformat(),
        "in_reply_to": "out-42",
        "thread_id": "thr-7",
        "contact": "dana@acme.test",
    }
    with django_assert_max_num_queries(10):
        response = agent_api.post("/api/v1/interactions/", payload, format="json")

    assert response.status_code == 201
    body = response.json()
    assert (body["in_reply_to"], body["thread_id"], body["contact"]) == (
        "out-42",
        "thr-7",
        "dana@acme.test",
    )
    page = page_client(manager).get(f"/accounts/{account.pk}/").content.decode()
    assert "in reply to <code>out-42</code>" in page
    assert "thr-7" in page and "dana@acme.test" in page


def test_another_organisation_cannot_reply_on_our_account(api_client, other_agent_key, org, in_org):
    AccountFactory(external_id="acc-r")
    other = api_client(other_agent_key, host=OTHER_HOST)
    response = other.post(
        "/api/v1/interactions/",
        {
            "account": "acc-r",
            "channel": "email",
            "direction": "inbound",
            "occurred_at": timezone.now().isoformat(),
            "in_reply_to": "out-1",
        },
        format="json",
    )
    assert response.status_code == 400 and "account" in response.json()
    with in_org(org):
        assert not Interaction.objects.exists()
