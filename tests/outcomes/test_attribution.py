"""Attribution: each customer signal resolves at most the one outcome it answers."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.outcomes.models import OutcomeChange, OutcomeRecord
from apps.outcomes.selectors import calibration_report
from apps.outcomes.services import (
    calibration_recompute,
    outcomes_expire,
    outcomes_resolve_engagement,
    outcomes_resolve_immediate_signals,
)
from tests.factories.crm import AccountFactory, InteractionFactory
from tests.factories.outcomes import OutcomeFactory, action_type


@pytest.fixture
def account(org):
    return AccountFactory()


def hours_ago(hours: float):
    return timezone.now() - timedelta(hours=hours)


def statuses(*records: OutcomeRecord) -> list[str]:
    return [OutcomeRecord.all_objects.get(pk=r.pk).status for r in records]


def email(account, hours: float, **kwargs) -> OutcomeRecord:
    return OutcomeFactory(account=account, occurred_at=hours_ago(hours), **kwargs)


def reply(account, hours: float, **kwargs):
    return InteractionFactory(
        account=account,
        channel="email",
        direction="inbound",
        occurred_at=hours_ago(hours),
        **kwargs,
    )


def test_one_reply_after_three_emails_resolves_only_the_most_recent(account):
    first, second, third = email(account, 10), email(account, 8), email(account, 6)
    answer = reply(account, 2)

    assert outcomes_resolve_immediate_signals() == 1

    assert statuses(first, second, third) == ["pending", "pending", "resolved"]
    assert OutcomeRecord.objects.get(pk=third.pk).resolving_interaction == answer


def test_a_reply_naming_its_email_resolves_exactly_that_one(account):
    first, second = email(account, 10), email(account, 6)
    reply(account, 2, in_reply_to=first.external_id)

    assert outcomes_resolve_immediate_signals() == 1

    assert statuses(first, second) == ["resolved", "pending"]


def test_a_reply_naming_an_email_outside_its_window_resolves_nothing(account):
    old = email(account, 30)  # 24 h window ended 6 h ago
    recent = email(account, 6)
    reply(account, 2, in_reply_to=old.external_id)

    assert outcomes_resolve_immediate_signals() == 0
    assert statuses(old, recent) == ["pending", "pending"]


def test_a_reply_naming_an_unknown_outcome_resolves_nothing(account):
    record = email(account, 6)
    reply(account, 2, in_reply_to="never-sent")

    assert outcomes_resolve_immediate_signals() == 0
    assert statuses(record) == ["pending"]


def test_a_second_reply_to_an_answered_email_resolves_nothing_more(account):
    first, second = email(account, 10), email(account, 6)
    reply(account, 3)
    assert outcomes_resolve_immediate_signals() == 1
    reply(account, 2)  # the customer writes again: still the answer to the second email

    assert outcomes_resolve_immediate_signals() == 0
    assert statuses(first, second) == ["pending", "resolved"]


def test_a_second_reply_naming_an_answered_email_resolves_nothing(account):
    first, second = email(account, 10), email(account, 6)
    reply(account, 3, in_reply_to=second.external_id)
    reply(account, 2, in_reply_to=second.external_id)

    assert outcomes_resolve_immediate_signals() == 1
    assert statuses(first, second) == ["pending", "resolved"]


def test_replies_between_emails_each_answer_the_email_before_them(account):
    first, second = email(account, 10), email(account, 6)
    reply(account, 8)  # after the first, before the second
    reply(account, 2)

    assert outcomes_resolve_immediate_signals() == 2
    assert statuses(first, second) == ["resolved", "resolved"]


def test_a_reply_goes_to_the_email_of_its_contact_first(account):
    to_dana = email(account, 10, metadata={"contact": "dana@acme.test"})
    to_luis = email(account, 6, metadata={"contact": "luis@acme.test"})
    reply(account, 2, contact="dana@acme.test")

    assert outcomes_resolve_immediate_signals() == 1
    assert statuses(to_dana, to_luis) == ["resolved", "pending"]


def test_a_reply_of_an_unknown_contact_goes_to_the_most_recent_email(account):
    to_dana = email(account, 10, metadata={"contact": "dana@acme.test"})
    to_luis = email(account, 6, metadata={"contact": "luis@acme.test"})
    reply(account, 2, contact="priya@acme.test")

    assert outcomes_resolve_immediate_signals() == 1
    assert statuses(to_dana, to_luis) == ["pending", "resolved"]


def test_a_deleted_email_is_not_answered_the_one_before_it_is(account):
    earlier, deleted = email(account, 10), email(account, 6)
    OutcomeRecord.all_objects.filter(pk=deleted.pk).update(deleted_at=timezone.now())
    reply(account, 2)

    assert outcomes_resolve_immediate_signals() == 1
    assert statuses(earlier, deleted) == ["resolved", "pending"]


def test_expiry_leaves_the_answered_email_to_its_resolver_and_expires_the_others(account):
    first, second = email(account, 40), email(account, 30)
    reply(account, 20)  # inside both windows: answers the second only

    assert outcomes_expire() == 1
    assert statuses(first, second) == ["expired", "pending"]
    assert outcomes_resolve_immediate_signals() == 1
    assert statuses(first, second) == ["expired", "resolved"]


def test_a_meeting_resolves_only_the_request_it_books(account):
    request = action_type("meeting_request")
    older = OutcomeFactory(account=account, action_type=request, occurred_at=hours_ago(50))
    newer = OutcomeFactory(account=account, action_type=request, occurred_at=hours_ago(20))
    InteractionFactory(account=account, channel="meeting", occurred_at=hours_ago(2))

    assert outcomes_resolve_engagement() == 1
    assert statuses(older, newer) == ["pending", "resolved"]


def test_a_meeting_naming_its_request_resolves_that_one(account):
    request = action_type("meeting_request")
    older = OutcomeFactory(account=account, action_type=request, occurred_at=hours_ago(50))
    newer = OutcomeFactory(account=account, action_type=request, occurred_at=hours_ago(20))
    InteractionFactory(
        account=account, channel="meeting", occurred_at=hours_ago(2), in_reply_to=older.external_id
    )

    assert outcomes_resolve_engagement() == 1
    assert statuses(older, newer) == ["resolved", "pending"]


def test_a_meeting_answers_an_escalation_or_a_request_whichever_came_last(account):
    escalation = OutcomeFactory(
        account=account, action_type=action_type("escalation"), occurred_at=hours_ago(20)
    )
    request = OutcomeFactory(
        account=account, action_type=action_type("meeting_request"), occurred_at=hours_ago(30)
    )
    InteractionFactory(account=account, channel="meeting", occurred_at=hours_ago(2))

    assert outcomes_resolve_engagement() == 1
    assert statuses(escalation, request) == ["resolved", "pending"]


def test_a_late_reply_corrects_an_expired_email_and_records_it(account):
    record = email(account, 40)
    assert outcomes_expire() == 1
    assert statuses(record) == ["expired"]
    late = reply(account, 30)  # happened inside the window, arrives now

    assert outcomes_resolve_immediate_signals() == 1

    record = OutcomeRecord.objects.get(pk=record.pk)
    assert (record.status, record.score, record.resolving_interaction) == ("resolved", 1.0, late)
    assert record.resolved_at == late.occurred_at
    (change,) = OutcomeChange.objects.filter(outcome=record)
    assert change.kind == "late_signal"
    assert change.changes["status"] == {"from": "expired", "to": "resolved"}
    assert outcomes_resolve_immediate_signals() == 0  # idempotent
    assert OutcomeChange.objects.filter(outcome=record).count() == 1


def test_a_late_reply_outside_the_window_corrects_nothing(account):
    record = email(account, 40)
    outcomes_expire()
    reply(account, 10)  # after the window ended

    assert outcomes_resolve_immediate_signals() == 0
    assert statuses(record) == ["expired"]


def test_a_late_correction_reaches_calibration_on_its_next_run(account):
    record = email(account, 40, predicted_confidence=0.75)
    outcomes_expire()
    calibration_recompute(action_type=record.action_type)
    assert calibration_report(action_type=record.action_type)["bins"][7]["mean_actual"] == 0.0
    reply(account, 30)
    outcomes_resolve_immediate_signals()

    calibration_recompute(action_type=record.action_type)

    assert calibration_report(action_type=record.action_type)["bins"][7]["mean_actual"] == 1.0


def test_calibration_counts_one_reply_once_when_several_emails_preceded_it(org):
    """Five accounts, each with three emails (confidence 0.85) and one reply afterwards:
    the bin holds 15 decided records of which 5 succeeded, not 15 of 15."""
    for _ in range(5):
        account = AccountFactory()
        for hours in (40, 38, 36):
            email(account, hours, predicted_confidence=0.85)
        reply(account, 30)

    outcomes_resolve_immediate_signals()
    outcomes_expire()
    calibration_recompute(action_type=action_type("email_sent"))

    bin8 = calibration_report(action_type=action_type("email_sent"))["bins"][8]
    assert bin8["count"] == 15
    assert bin8["mean_actual"] == pytest.approx(5 / 15)
    assert OutcomeRecord.objects.filter(status="resolved").count() == 5
