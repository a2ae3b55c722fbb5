"""Times outside a sane range are refused on every path, and no stored row can break a
reader (issue 20.2: one bulk item dated year 1 once broke every outcomes reader)."""

from __future__ import annotations

import importlib
from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from apps.crm.models import Interaction
from apps.crm.times import TIME_RANGE_MESSAGE
from apps.dashboards.services import outcome_daily_refresh, pattern_rollup_refresh
from apps.outcomes.models import OutcomeChange, OutcomeRecord
from tests.factories.crm import AccountFactory, InteractionFactory
from tests.factories.outcomes import OutcomeFactory

BAD_TIMES = [
    "0001-01-01T00:00:00+01:00",  # the attack: year 0 once in UTC
    "1999-12-31T23:59:59Z",
    "9999-12-31T23:00:00-05:00",  # year 10000 in UTC
]


def _far_future() -> str:
    return (timezone.now() + timedelta(days=2)).isoformat()


def _action(external_id: str, occurred_at: str) -> dict:
    return {
        "external_id": external_id,
        "action_type": "email_sent",
        "account": "acc-t",
        "predicted_confidence": 0.5,
        "occurred_at": occurred_at,
    }


@pytest.fixture
def account(org):
    return AccountFactory(external_id="acc-t")


@pytest.mark.parametrize("occurred_at", [*BAD_TIMES, "far-future"])
def test_single_and_bulk_refuse_a_time_out_of_range_with_the_same_message(
    agent_api, account, occurred_at
):
    occurred_at = _far_future() if occurred_at == "far-future" else occurred_at
    single = agent_api.post("/api/v1/outcomes/", _action("t-1", occurred_at), format="json")
    bulk = agent_api.post(
        "/api/v1/outcomes/bulk/",
        {"outcomes": [_action("t-2", occurred_at), _action("t-3", "2026-01-05T09:00:00Z")]},
        format="json",
    )

    assert single.status_code == 400
    assert bulk.status_code == 200
    bad, good = bulk.json()["results"]
    assert (bad["status"], good["status"]) == ("error", "created")  # per item
    expected = TIME_RANGE_MESSAGE if occurred_at in BAD_TIMES else bad["errors"]["occurred_at"]
    assert single.json()["occurred_at"] == [expected]
    assert bad["errors"]["occurred_at"] == expected
    assert list(OutcomeRecord.objects.values_list("external_id", flat=True)) == ["t-3"]


@pytest.mark.parametrize("occurred_at", [*BAD_TIMES, "far-future"])
def test_an_interaction_out_of_range_is_a_400_and_stores_nothing(agent_api, account, occurred_at):
    occurred_at = _far_future() if occurred_at == "far-future" else occurred_at
    response = agent_api.post(
        "/api/v1/interactions/",
        {
            "account": "acc-t",
            "channel": "email",
            "direction": "inbound",
            "occurred_at": occurred_at,
        },
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["occurred_at"] == [TIME_RANGE_MESSAGE]
    assert not Interaction.objects.exists()


def test_an_interaction_a_few_hours_ahead_is_accepted(agent_api, account):
    response = agent_api.post(
        "/api/v1/interactions/",
        {
            "account": "acc-t",
            "channel": "meeting",
            "direction": "outbound",
            "occurred_at": (timezone.now() + timedelta(hours=3)).isoformat(),
        },
        format="json",
    )
    assert response.status_code == 201


def test_the_database_refuses_a_year_zero_time_whatever_path_wrote_it(account):
    record = OutcomeFactory(account=account)
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {OutcomeRecord._meta.db_table} SET occurred_at = %s WHERE id = %s",
            ["0001-01-01T00:00:00+01:00", record.pk],
        )
    interaction = InteractionFactory(account=account)
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Interaction._meta.db_table} SET occurred_at = %s WHERE id = %s",
            ["0001-01-01T00:00:00+01:00", interaction.pk],
        )


def test_a_bad_row_stored_before_the_fix_is_repaired_and_every_reader_works(
    account, agent_api, page_client, admin_user
):
    """As it was before this fix: the constraint absent, a year-0 row stored. The migration's
    repair makes it readable (the old value kept in its history); then the API list, the
    pages, the admin and the analytics refresh all answer."""
    record = OutcomeFactory(account=account, external_id="bad-1")
    table = OutcomeRecord._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # so that the table can be altered
        cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT outcome_times_range")
        cursor.execute(
            f"UPDATE {table} SET occurred_at = %s, window_ends_at = %s WHERE id = %s",
            ["0001-01-01T00:00:00+01:00", "0001-01-02T00:00:00+01:00", record.pk],
        )
        migration = importlib.import_module(
            "apps.outcomes.migrations.0007_soft_delete_history_and_time_range"
        )
        cursor.execute(migration.REPAIR_TIMES)

    record = OutcomeRecord.objects.get(pk=record.pk)
    assert record.occurred_at == record.created_at
    (change,) = OutcomeChange.objects.filter(outcome=record)
    assert change.kind == "repaired" and "BC" in change.changes["occurred_at"]["from"]
    assert agent_api.get("/api/v1/outcomes/").status_code == 200
    client = page_client(admin_user)
    assert client.get("/outcomes/").status_code == 200
    assert client.get(f"/outcomes/{record.pk}/").status_code == 200
    assert client.get("/admin/outcomes/outcomerecord/").status_code == 200
    assert client.get(f"/admin/outcomes/outcomerecord/{record.pk}/change/").status_code == 200
    outcome_daily_refresh()
    pattern_rollup_refresh()
