"""Concurrent workers on committed data: no record resolved twice, no action stored twice."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone

from apps.crm.models import Interaction
from apps.outcomes.models import OutcomeChange, OutcomeRecord
from apps.outcomes.services import (
    outcome_record,
    outcomes_record_bulk,
    outcomes_resolve_immediate_signals,
)
from tests.factories.crm import AccountFactory
from tests.factories.outcomes import action_type


def _pending_emails(count: int) -> list[int]:
    account = AccountFactory()
    now = timezone.now()
    email = action_type("email_sent")
    OutcomeRecord.objects.bulk_create(
        OutcomeRecord(
            external_id=f"c-{n}",
            action_type=email,
            account=account,
            predicted_confidence=0.5,
            occurred_at=now - timedelta(hours=5),
            window_ends_at=now + timedelta(hours=19),
        )
        for n in range(count)
    )
    # One reply per email (a reply answers one email: the one it names).
    Interaction.objects.bulk_create(
        Interaction(
            account=account,
            channel="email",
            direction="inbound",
            occurred_at=now - timedelta(hours=1),
            in_reply_to=f"c-{n}",
        )
        for n in range(count)
    )
    return list(OutcomeRecord.objects.values_list("pk", flat=True))


def _in_thread(tenant, work) -> threading.Thread:
    def run():
        connection.set_tenant(tenant)
        try:
            work()
        finally:
            connection.close()

    return threading.Thread(target=run)


def test_two_resolvers_running_at_once_never_resolve_the_same_record(fresh_org):
    ids = _pending_emails(3000)
    start = threading.Barrier(2)
    claimed: list[list[int]] = [[], []]

    def resolver(n: int):
        def work():
            start.wait()
            outcomes_resolve_immediate_signals(batch=100, claimed=claimed[n])

        return work

    threads = [_in_thread(fresh_org, resolver(n)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    first, second = set(claimed[0]), set(claimed[1])
    assert len(claimed[0]) + len(claimed[1]) == len(ids)
    assert first.isdisjoint(second)
    assert first | second == set(ids)
    assert OutcomeRecord.objects.filter(status="resolved").count() == len(ids)


def test_a_resolver_skips_a_record_another_worker_holds_and_gets_it_next_run(fresh_org):
    held_id, *others = _pending_emails(5)
    locked, release = threading.Event(), threading.Event()

    def hold():
        with transaction.atomic():
            OutcomeRecord.objects.select_for_update().get(pk=held_id)
            locked.set()
            release.wait(timeout=10)

    holder = _in_thread(fresh_org, hold)
    holder.start()
    assert locked.wait(timeout=10)
    try:
        claimed: list[int] = []
        assert outcomes_resolve_immediate_signals(claimed=claimed) == len(others)
        assert held_id not in claimed
    finally:
        release.set()
        holder.join()
    assert outcomes_resolve_immediate_signals() == 1
    assert OutcomeRecord.objects.get(pk=held_id).status == "resolved"


def test_a_retry_storm_of_the_same_action_stores_it_once(fresh_org):
    account = AccountFactory()
    email = action_type("email_sent")
    start = threading.Barrier(6)
    outcomes: list[tuple[int, bool]] = []

    def retry():
        start.wait()
        record, created = outcome_record(
            external_id="storm-1", action_type=email, account=account, predicted_confidence=0.6
        )
        outcomes.append((record.pk, created))

    threads = [_in_thread(fresh_org, retry) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(outcomes) == 6
    assert len({pk for pk, _ in outcomes}) == 1
    assert [created for _, created in outcomes].count(True) == 1
    assert OutcomeRecord.objects.filter(external_id="storm-1").count() == 1


def test_a_bulk_call_racing_another_for_the_same_action_answers_with_the_stored_record(
    fresh_org,
):
    account = AccountFactory(external_id="race-acc")
    email = action_type("email_sent")
    held, release = threading.Event(), threading.Event()
    stored: list[int] = []

    def hold():  # another caller has stored race-1 but not yet committed
        with transaction.atomic():
            record, _ = outcome_record(
                external_id="race-1", action_type=email, account=account, predicted_confidence=0.5
            )
            stored.append(record.pk)
            held.set()
            release.wait(timeout=10)

    results: list = []

    def bulk():
        items = [
            {"external_id": f"race-{n}", "action_type": "email_sent", "account": "race-acc"}
            | {"predicted_confidence": 0.5}
            for n in (1, 2)
        ]
        results.extend(outcomes_record_bulk(items=items))

    holder, caller = _in_thread(fresh_org, hold), _in_thread(fresh_org, bulk)
    holder.start()
    assert held.wait(timeout=10)
    caller.start()
    try:
        for _ in range(200):  # until the bulk insert waits on the uncommitted row
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
                if cursor.fetchone()[0]:
                    break
            time.sleep(0.05)
        else:
            raise AssertionError("the bulk call never waited for the other caller")
    finally:
        release.set()
        holder.join()
        caller.join()

    assert [(r.status, r.id) for r in results] == [
        ("existing", stored[0]),
        ("created", OutcomeRecord.objects.get(external_id="race-2").pk),
    ]
    assert OutcomeRecord.objects.filter(external_id="race-1").count() == 1


def test_two_resolvers_correcting_late_signals_at_once_correct_each_record_once(fresh_org):
    account = AccountFactory()
    email = action_type("email_sent")
    now = timezone.now()
    OutcomeRecord.objects.bulk_create(
        OutcomeRecord(
            external_id=f"late-{n}",
            action_type=email,
            account=account,
            predicted_confidence=0.5,
            occurred_at=now - timedelta(hours=40),
            window_ends_at=now - timedelta(hours=16),
            status="expired",
            score=0.0,
            resolved_at=now - timedelta(hours=16),
        )
        for n in range(500)
    )
    Interaction.objects.bulk_create(  # replies inside the windows, arriving now
        Interaction(
            account=account,
            channel="email",
            direction="inbound",
            occurred_at=now - timedelta(hours=30),
            in_reply_to=f"late-{n}",
        )
        for n in range(500)
    )
    start = threading.Barrier(2)
    claimed: list[list[int]] = [[], []]

    def resolver(n: int):
        def work():
            start.wait()
            outcomes_resolve_immediate_signals(claimed=claimed[n])

        return work

    threads = [_in_thread(fresh_org, resolver(n)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert set(claimed[0]).isdisjoint(claimed[1])
    assert len(claimed[0]) + len(claimed[1]) == 500
    assert OutcomeRecord.objects.filter(status="resolved").count() == 500
    assert OutcomeChange.objects.filter(kind="late_signal").count() == 500
