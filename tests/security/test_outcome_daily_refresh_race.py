"""Issue 20.4: concurrent "refresh now" (and the 5-minute job) never duplicate the dashboard
summary rows. Eight real PostgreSQL connections, one per thread, on committed data."""

from __future__ import annotations

import threading

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Sum
from django_tenants.utils import schema_context

from apps.dashboards.models import OutcomeDaily
from apps.dashboards.services import (
    outcome_daily_refresh,
    outcome_daily_refresh_recent,
    outcome_daily_refresh_today,
)
from apps.outcomes.models import OutcomeRecord
from tests.factories.crm import AccountFactory
from tests.factories.dashboards import decided_outcome
from tests.factories.outcomes import CloneFactory
from tests.factories.users import UserFactory

THREADS = 8


def _data() -> int:
    rory = UserFactory(username="rory", role="rep")
    sam = UserFactory(username="sam", role="rep")
    clone = CloneFactory(owner=rory)
    accounts = [AccountFactory(owner=rory), AccountFactory(owner=sam), AccountFactory(owner=None)]
    for index in range(60):
        decided_outcome(
            account=accounts[index % 3],
            code=["email_sent", "meeting_request"][index % 2],
            status=["resolved", "expired", "pending"][index % 3],
            days_ago=0.001 * (index % 5),  # today (UTC): what "refresh now" recounts
            clone=clone if index % 4 == 0 else None,
        )
    return OutcomeRecord.objects.count()


def _race(schema: str, jobs: list) -> list:
    barrier = threading.Barrier(len(jobs))
    errors: list = []

    def run(job) -> None:
        try:
            with schema_context(schema):
                barrier.wait()
                job()
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return errors


def _assert_counted_once(total: int) -> None:
    assert OutcomeDaily.objects.aggregate(n=Sum("outcomes"))["n"] == total
    groups = (
        OutcomeDaily.objects.values("day", "action_type", "clone", "owner")
        .annotate(rows=Count("id"))
        .filter(rows__gt=1)
    )
    assert list(groups) == []


def test_eight_parallel_refreshes_and_the_job_count_each_outcome_once(fresh_org):
    total = _data()
    outcome_daily_refresh()
    for _ in range(3):
        jobs = [outcome_daily_refresh_today] * (THREADS - 1) + [outcome_daily_refresh_recent]
        assert _race(fresh_org.schema_name, jobs) == []
        _assert_counted_once(total)


def test_the_summary_refuses_a_second_row_for_a_group(fresh_org):
    _data()
    outcome_daily_refresh()
    row = OutcomeDaily.objects.filter(clone__isnull=True, owner__isnull=True).first()
    assert row is not None  # NULL clone and owner are one group too (NULLS NOT DISTINCT)
    with pytest.raises(IntegrityError), transaction.atomic():
        OutcomeDaily.objects.create(
            day=row.day, action_type=row.action_type, clone=None, owner=None, outcomes=1
        )


def test_a_group_that_lost_its_outcomes_is_removed_on_refresh(fresh_org):
    total = _data()
    outcome_daily_refresh()
    sam_rows = OutcomeDaily.objects.filter(owner__username="sam")
    assert sam_rows.exists()
    # Sam's accounts go to Rory: Sam's summary rows must not linger beside Rory's new ones.
    from apps.crm.models import Account

    Account.objects.filter(owner__username="sam").update(owner=None)
    outcome_daily_refresh_today()
    assert not sam_rows.exists()
    _assert_counted_once(total)


def test_the_migration_keeps_one_row_of_each_duplicated_group(org):
    """Rows duplicated by the old unlocked refresh are collapsed before the key is added."""
    import importlib

    from django.db.migrations.executor import MigrationExecutor

    migration = importlib.import_module(
        "apps.dashboards.migrations.0003_outcomedaily_one_row_per_group"
    )
    account = AccountFactory(owner=None)
    decided_outcome(account=account, days_ago=0.001)
    outcome_daily_refresh()
    table = OutcomeDaily._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no pending FK checks before ALTER
        cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT outcome_daily_one_row_per_group")
        cursor.execute(
            f"INSERT INTO {table} (day, action_type_id, clone_id, owner_id, outcomes, decided,"
            f" succeeded, score_sum) SELECT day, action_type_id, clone_id, owner_id, outcomes,"
            f" decided, succeeded, score_sum FROM {table}"
        )
    assert OutcomeDaily.objects.count() == 2
    state_apps = MigrationExecutor(connection).loader.project_state().apps
    with connection.schema_editor() as editor:
        migration.drop_duplicate_rows(state_apps, editor)
    assert OutcomeDaily.objects.count() == 1
    assert OutcomeDaily.objects.get().outcomes == 1
