"""A retry storm of identical CRM writes: one 201, the rest 200, never a 409 (issue 20.9).

Eight threads, each with its own database connection, post the same interaction (or deal)
at the same moment through the whole API stack, on committed data.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from rest_framework.test import APIClient

from apps.crm.models import Account, Deal, DealStageChange, Interaction
from apps.tenancy.services import default_domain_for
from apps.users.services import api_key_create

STORM = 8

pytestmark = pytest.mark.services


def _storm(tenant, path: str, body: dict) -> list[int]:
    _, key = api_key_create(name="storm agent")
    host = default_domain_for(tenant.slug)
    start = threading.Barrier(STORM)
    codes: list[int] = []

    def post():
        connection.set_tenant(tenant)
        try:
            client = APIClient(HTTP_HOST=host)
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
            start.wait()
            codes.append(client.post(path, body, format="json").status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(STORM)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(codes)


def test_eight_identical_interaction_posts_give_one_201_and_seven_200s(fresh_org):
    Account.objects.create(external_id="storm-acc", name="Storm")
    body = {
        "external_id": "mail-1",
        "account": "storm-acc",
        "channel": "email",
        "direction": "inbound",
        "occurred_at": "2026-01-05T09:00:00Z",
        "in_reply_to": "out-1",
    }

    codes = _storm(fresh_org, "/api/v1/interactions/", body)

    assert codes == [200] * (STORM - 1) + [201]
    assert Interaction.objects.filter(external_id="mail-1").count() == 1


def test_eight_identical_deal_posts_give_one_201_and_one_stage_history_row(fresh_org):
    Account.objects.create(external_id="storm-acc", name="Storm")
    body = {"external_id": "deal-1", "account": "storm-acc", "name": "Big", "stage": "discovery"}

    codes = _storm(fresh_org, "/api/v1/deals/", body)

    assert codes == [200] * (STORM - 1) + [201]
    deal = Deal.objects.get(external_id="deal-1")
    assert DealStageChange.objects.filter(deal=deal).count() == 1


def test_eight_identical_account_posts_give_one_201(fresh_org):
    codes = _storm(fresh_org, "/api/v1/accounts/", {"external_id": "acc-9", "name": "Nine"})

    assert codes == [200] * (STORM - 1) + [201]
    assert Account.objects.filter(external_id="acc-9").count() == 1
