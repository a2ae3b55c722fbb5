"""Resolving outcomes from signals inside their windows, and expiring the rest."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.crm.services import deal_stage_change, deal_upsert
from apps.outcomes.models import OutcomeRecord
from apps.outcomes.services import (
    outcome_record,
    outcomes_expire,
    outcomes_resolve_deal_progression,
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


def refreshed(record: OutcomeRecord) -> OutcomeRecord:
    return OutcomeRecord.objects.get(pk=record.pk)


def test_an_inbound_email_in_the_window_resolves_an_email_with_full_score(account):
    record = OutcomeFactory(account=account, occurred_at=hours_ago(10))
    reply = InteractionFactory(account=account, channel="email", occurred_at=hours_ago(2))

    assert outcomes_resolve_immediate_signals() == 1

    record = refreshed(record)
    assert (record.status, record.score) == ("resolved", 1.0)
    assert record.resolving_interaction == reply
    assert record.resolved_at == reply.occurred_at


@pytest.mark.parametrize(
    "signal",
    [
        {"direction": "outbound"},
        {"channel": "chat"},
        {"occurred_at_hours_ago": 12},  # before the action
        {"other_account": True},
    ],
    ids=["outbound", "chat", "before-the-action", "other-account"],
)
def test_other_interactions_do_not_resolve_an_email(account, signal):
    record = OutcomeFactory(account=account, occurred_at=hours_ago(10))
    InteractionFactory(
        account=AccountFactory() if signal.get("other_account") else account,
        channel=signal.get("channel", "email"),
        direction=signal.get("direction", "inbound"),
        occurred_at=hours_ago(signal.get("occurred_at_hours_ago", 2)),
    )
    assert outcomes_resolve_immediate_signals() == 0
    assert refreshed(record).status == "pending"


def test_a_reply_after_the_window_does_not_count_and_the_record_expires(account):
    record = OutcomeFactory(account=account, occurred_at=hours_ago(30))
    InteractionFactory(account=account, channel="email", occurred_at=hours_ago(1))

    assert outcomes_resolve_immediate_signals() == 0
    assert outcomes_expire() == 1
    record = refreshed(record)
    assert (record.status, record.score) == ("expired", 0.0)
    assert record.resolved_at == record.window_ends_at


@pytest.mark.parametrize("code", ["meeting_request", "escalation"])
def test_a_meeting_in_the_window_resolves_meeting_requests_and_escalations(account, code):
    record = OutcomeFactory(
        account=account, action_type=action_type(code), occurred_at=hours_ago(100)
    )
    email = OutcomeFactory(account=account, occurred_at=hours_ago(20))
    InteractionFactory(
        account=account, channel="meeting", direction="outbound", occurred_at=hours_ago(50)
    )

    assert outcomes_resolve_engagement() == 1
    assert (refreshed(record).status, refreshed(record).score) == ("resolved", 1.0)
    assert refreshed(email).status == "pending"  # a meeting does not answer an email


def test_expiry_leaves_records_whose_signal_came_in_time_for_their_resolver(account):
    record = OutcomeFactory(account=account, occurred_at=hours_ago(30))
    InteractionFactory(account=account, channel="email", occurred_at=hours_ago(25))

    assert outcomes_expire() == 0
    assert outcomes_resolve_immediate_signals() == 1
    assert refreshed(record).status == "resolved"


def test_an_action_backfilled_25_hours_late_is_expired_by_the_next_expiry_run(account):
    record, _ = outcome_record(
        external_id="late-1",
        action_type=action_type("email_sent"),
        account=account,
        predicted_confidence=0.9,
        occurred_at=hours_ago(25),
    )
    assert record.status == "pending"
    assert outcomes_expire() == 1
    assert refreshed(record).status == "expired"


def test_records_still_inside_their_window_do_not_expire(account):
    OutcomeFactory(account=account, occurred_at=hours_ago(23))
    assert outcomes_expire() == 0


def _deal(account, *, stage: str, since_hours: float):
    deal, _ = deal_upsert(
        external_id=f"deal-{account.pk}",
        account=account,
        name="Platform",
        stage=stage,
        amount=1000,
        changed_at=hours_ago(since_hours),
    )
    return deal


def _progression(account, deal, *, hours: float) -> OutcomeRecord:
    return OutcomeFactory(
        account=account,
        deal=deal,
        action_type=action_type("deal_progression"),
        occurred_at=hours_ago(hours),
    )


def test_deal_progression_scores_0_2_per_stage_advanced_when_the_window_ends(account):
    deal = _deal(account, stage="qualification", since_hours=900)
    record = _progression(account, deal, hours=800)  # window (720 h) ended 80 h ago
    deal_stage_change(deal=deal, stage="discovery", changed_at=hours_ago(700))
    reached = hours_ago(600)
    deal_stage_change(deal=deal, stage="negotiation", changed_at=reached)
    deal_stage_change(deal=deal, stage="proposal", changed_at=hours_ago(500))  # slipped back

    assert outcomes_resolve_deal_progression() == 1
    record = refreshed(record)
    assert record.status == "resolved"
    assert record.score == 0.6  # qualification → negotiation, best reached: 3 stages
    assert record.resolved_at == reached


def test_deal_progression_waits_for_the_window_while_the_deal_is_still_open(account):
    deal = _deal(account, stage="prospecting", since_hours=300)
    record = _progression(account, deal, hours=200)
    deal_stage_change(deal=deal, stage="discovery", changed_at=hours_ago(100))

    assert outcomes_resolve_deal_progression() == 0
    assert outcomes_expire() == 0
    assert refreshed(record).status == "pending"


def test_a_won_deal_resolves_at_once_and_the_score_is_capped_at_one(account):
    deal = _deal(account, stage="prospecting", since_hours=300)
    record = _progression(account, deal, hours=200)
    deal_stage_change(deal=deal, stage="closed_won", changed_at=hours_ago(10))

    assert outcomes_resolve_deal_progression() == 1
    assert refreshed(record).score == 1.0


def test_a_deal_that_did_not_advance_expires_at_the_end_of_the_window(account):
    deal = _deal(account, stage="proposal", since_hours=900)
    record = _progression(account, deal, hours=800)
    deal_stage_change(deal=deal, stage="closed_lost", changed_at=hours_ago(700))

    assert outcomes_resolve_deal_progression() == 0
    assert outcomes_expire() == 1
    assert (refreshed(record).status, refreshed(record).score) == ("expired", 0.0)


def test_every_job_run_twice_changes_nothing_the_second_time(account):
    OutcomeFactory(account=account, occurred_at=hours_ago(10))
    OutcomeFactory(account=account, occurred_at=hours_ago(40))
    OutcomeFactory(account=account, action_type=action_type("escalation"), occurred_at=hours_ago(5))
    InteractionFactory(account=account, channel="email", occurred_at=hours_ago(1))
    InteractionFactory(account=account, channel="meeting", occurred_at=hours_ago(1))
    jobs = [outcomes_resolve_immediate_signals, outcomes_resolve_engagement, outcomes_expire]
    assert [job() for job in jobs] == [1, 1, 1]
    before = list(OutcomeRecord.objects.order_by("pk").values())
    assert [job() for job in jobs] == [0, 0, 0]
    assert list(OutcomeRecord.objects.order_by("pk").values()) == before
