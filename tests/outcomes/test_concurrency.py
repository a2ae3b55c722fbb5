"""Two resolvers at once on committed data: no record is resolved twice."""

from __future__ import annotations

import threading
from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone

from apps.outcomes.models import OutcomeRecord
from apps.outcomes.services import outcome_record, outcomes_resolve_immediate_signals
from tests.factories.crm import AccountFactory, InteractionFactory
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
    InteractionFactory(account=account, channel="email", occurred_at=now - timedelta(hours=1))
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
