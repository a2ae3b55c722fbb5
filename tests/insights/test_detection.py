from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import IntegrityError

from apps.crm.models import DealStageChange
from apps.insights.models import Insight, InsightSettings
from apps.insights.services import insight_dismiss, insights_detect
from tests.factories.crm import AccountFactory, DealFactory, InteractionFactory
from tests.factories.insights import InsightFactory


def only(pattern_type: str) -> list[Insight]:
    return list(Insight.objects.filter(pattern_type=pattern_type))


# --- buying signals ---------------------------------------------------------------------


def test_two_inbound_pricing_and_demo_requests_in_a_week_are_a_buying_signal(account, signal, now):
    signal(account, 1, summary="Asked for pricing for 200 seats")
    signal(account, 3, summary="Wants a demo", key_points=["demo for the ops team"])

    insights_detect(now=now)

    [insight] = only("buying_signal")
    assert insight.account == account
    assert insight.severity == "medium"
    assert insight.evidence["requests"] == 2
    assert 0 < insight.confidence <= 1
    assert insight.status == "pending"


def test_one_request_plus_outbound_and_old_ones_is_not_a_buying_signal(account, signal, now):
    signal(account, 1, summary="Asked for pricing")
    signal(account, 2, summary="Sent our pricing sheet", direction="outbound")
    signal(account, 9, summary="Asked about the contract")
    signal(account, 2, summary="Said the budget is frozen this quarter")

    insights_detect(now=now)

    assert only("buying_signal") == []


def test_three_contacts_writing_in_within_a_week_is_a_buying_signal(account, signal, now):
    for days, name in [(1, "Dana Kim"), (2, "Luis Ortega"), (4, "Priya Nair")]:
        signal(account, days, summary="Question on onboarding", contact_name=name)

    insights_detect(now=now)

    [insight] = only("buying_signal")
    assert insight.severity == "high"
    assert insight.evidence["contacts"] == ["Dana Kim", "Luis Ortega", "Priya Nair"]


def test_many_requests_from_many_contacts_is_a_critical_buying_signal(account, signal, now):
    for days, name in [(1, "Dana Kim"), (2, "Luis Ortega"), (3, "Priya Nair")]:
        signal(account, days, summary="Asked for a quote and the contract", contact_name=name)

    insights_detect(now=now)

    [insight] = only("buying_signal")
    assert insight.severity == "critical"


# --- risk indicators --------------------------------------------------------------------


def test_three_negative_interactions_in_a_row_are_a_risk(account, signal, now):
    signal(account, 20, sentiment=0.6)
    for days, sentiment in [(6, -0.5), (4, -0.7), (1, -0.6)]:
        signal(account, days, sentiment=sentiment, summary="Unhappy about support")

    insights_detect(now=now)

    [insight] = only("risk_indicator")
    assert insight.signal == "negative_sentiment_streak"
    assert insight.severity == "critical"
    assert insight.evidence["mean_sentiment"] == -0.6
    assert len(insight.evidence["interaction_ids"]) == 3


def test_a_streak_broken_by_a_positive_interaction_is_not_a_risk(account, signal, now):
    for days, sentiment in [(6, -0.5), (4, -0.7), (1, 0.3)]:
        signal(account, days, sentiment=sentiment)

    insights_detect(now=now)

    assert only("risk_indicator") == []


def _history(deal, stays: list[tuple[str, float]], start):
    """Record a deal's moves: [(stage, days spent there), ...] from ``start``."""
    at, previous = start, ""
    for stage, days in stays:
        DealStageChange.objects.create(
            deal=deal, from_stage=previous, to_stage=stage, changed_at=at
        )
        at, previous = at + timedelta(days=days), stage
    return at


def _org_with_proposal_median_of_ten_days(now):
    for _ in range(3):
        deal = DealFactory(stage="negotiation")
        _history(deal, [("proposal", 10), ("negotiation", 1)], now - timedelta(days=60))


def test_a_deal_in_its_stage_far_longer_than_the_org_median_is_a_stalled_risk(account, now):
    _org_with_proposal_median_of_ten_days(now)
    DealFactory(
        account=account,
        name="Cedar rollout",
        stage="proposal",
        stage_changed_at=now - timedelta(days=25),
    )

    insights_detect(now=now)

    [insight] = only("risk_indicator")
    assert insight.account == account
    assert insight.signal == "deal_stalled"
    assert insight.evidence["median_days"] == 10.0
    assert insight.evidence["days_in_stage"] == 25.0
    assert insight.severity == "medium"


def test_a_deal_under_twice_the_median_is_not_stalled(account, now):
    _org_with_proposal_median_of_ten_days(now)
    DealFactory(account=account, stage="proposal", stage_changed_at=now - timedelta(days=18))
    DealFactory(account=account, stage="closed_lost", stage_changed_at=now - timedelta(days=90))

    insights_detect(now=now)

    # 18 quiet days make it an inactive deal (its own warning), but not a stalled one.
    assert [i.signal for i in only("risk_indicator")] in ([], ["deal_inactive"])
    assert not Insight.objects.filter(evidence__other_signals__contains=["deal_stalled"])


def test_a_champion_who_went_silent_on_an_open_deal_is_a_risk(account, signal, now):
    DealFactory(account=account, stage="discovery")
    for days in (60, 45, 35):
        signal(account, days, contact_name="Dana Kim", contact_title="VP Sales")

    insights_detect(now=now)

    [insight] = only("risk_indicator")
    assert insight.signal == "champion_silent"
    assert insight.evidence["contact"] == "Dana Kim"
    assert insight.evidence["silent_days"] == 35


def test_a_champion_still_writing_or_without_an_open_deal_is_not_a_risk(account, signal, now):
    DealFactory(account=account, stage="discovery")
    for days in (60, 45, 10):
        signal(account, days, contact_name="Dana Kim")
    quiet = AccountFactory()
    DealFactory(account=quiet, stage="closed_won")
    for days in (60, 45, 35):
        signal(quiet, days, contact_name="Tom Berg")

    insights_detect(now=now)

    # (Dana alone writing in on Cedar's open deal is a single-threaded deal, not this risk.)
    assert [i.signal for i in only("risk_indicator")] in ([], ["single_threaded"])
    assert not Insight.objects.filter(evidence__other_signals__contains=["champion_silent"])


def test_only_the_strongest_risk_of_an_account_becomes_its_open_insight(account, signal, now):
    DealFactory(account=account, stage="discovery")
    for days in (60, 45, 35):
        signal(account, days, contact_name="Dana Kim", sentiment=0.5)
    for days in (3, 2, 1):
        signal(account, days, sentiment=-0.9)

    insights_detect(now=now)

    [insight] = only("risk_indicator")
    assert insight.signal == "negative_sentiment_streak"
    assert insight.evidence["other_signals"] == ["champion_silent"]


# --- engagement change ------------------------------------------------------------------


def test_a_jump_in_interactions_over_the_last_two_weeks_is_an_engagement_change(
    account, signal, now
):
    for days in (40, 25):
        signal(account, days)
    for days in (1, 2, 4, 6, 9, 12):
        signal(account, days)

    insights_detect(now=now)

    [insight] = only("engagement_change")
    assert insight.signal == "engagement_up"
    assert insight.evidence["recent_14_days"] == 6
    assert insight.evidence["previous_30_days"] == 2


def test_a_drop_in_interactions_is_an_engagement_change(account, signal, now):
    for days in range(15, 44, 3):  # ten in the 30 days before
        signal(account, days)
    signal(account, 5)

    insights_detect(now=now)

    [insight] = only("engagement_change")
    assert insight.signal == "engagement_down"
    assert insight.severity == "high"
    assert insight.evidence["change_pct"] == pytest.approx(-78.6, abs=0.1)


def test_a_steady_interaction_rate_is_not_an_engagement_change(account, signal, now):
    for days in (15, 20, 25, 30, 35, 40):
        signal(account, days)
    for days in (2, 7, 12):
        signal(account, days)

    insights_detect(now=now)

    assert only("engagement_change") == []


def test_crm_stage_events_do_not_count_as_engagement(account, signal, now):
    for days in (1, 2, 3, 4, 5):
        signal(account, days, channel="crm", direction="outbound")

    insights_detect(now=now)

    assert only("engagement_change") == []


# --- cross-account ----------------------------------------------------------------------


def _negative_streak(account, signal):
    for days in (3, 2, 1):
        signal(account, days, sentiment=-0.5)


def test_the_same_signal_on_three_accounts_of_one_industry_is_a_cross_account_pattern(
    org, signal, now
):
    for name in ("Nimbus", "Quartz", "Helix"):
        _negative_streak(AccountFactory(name=name, industry="software"), signal)

    insights_detect(now=now)

    [pattern] = only("cross_account_pattern")
    assert pattern.account is None
    assert pattern.industry == "software"
    assert pattern.signal == "negative_sentiment_streak"
    assert pattern.evidence["accounts"] == ["Helix", "Nimbus", "Quartz"]
    assert len(pattern.evidence["insight_ids"]) == 3


def test_two_accounts_of_an_industry_and_one_of_another_are_not_a_pattern(org, signal, now):
    _negative_streak(AccountFactory(industry="software"), signal)
    _negative_streak(AccountFactory(industry="software"), signal)
    _negative_streak(AccountFactory(industry="retail"), signal)

    insights_detect(now=now)

    assert only("cross_account_pattern") == []


# --- dedupe and re-runs -----------------------------------------------------------------


def test_running_detection_twice_creates_no_duplicate(account, signal, now):
    _negative_streak(account, signal)

    first = insights_detect(now=now)
    second = insights_detect(now=now + timedelta(hours=1))

    assert sum(first.created.values()) == 1
    assert sum(second.created.values()) == 0
    assert Insight.objects.count() == 1


def test_the_database_refuses_a_second_open_insight_for_an_account_and_pattern(account):
    InsightFactory(account=account, pattern_type="risk_indicator", signal="deal_stalled")
    with pytest.raises(IntegrityError):
        InsightFactory(account=account, pattern_type="risk_indicator", signal="champion_silent")


def test_a_closed_insight_allows_a_new_open_one_for_the_same_pattern(account, manager):
    old = InsightFactory(account=account, pattern_type="risk_indicator")
    insight_dismiss(insight=old, user=manager, reason="already_handled")

    InsightFactory(account=account, pattern_type="risk_indicator")

    assert Insight.objects.filter(account=account).count() == 2


def test_a_dismissed_insight_is_not_raised_again_the_next_hour(account, signal, manager, now):
    _negative_streak(account, signal)
    insights_detect(now=now)
    insight_dismiss(insight=Insight.objects.get(), user=manager, reason="not_relevant")

    again = insights_detect(now=now + timedelta(hours=1))

    assert sum(again.created.values()) == 0
    assert Insight.objects.filter(status="pending").count() == 0


def test_thresholds_come_from_the_org_settings(account, signal, now):
    InsightSettings.objects.filter(id=1).update(negative_streak_length=4)
    _negative_streak(account, signal)

    insights_detect(now=now)

    assert only("risk_indicator") == []


def test_detection_reads_only_the_current_organisation(account, signal, other_org, in_org, now):
    _negative_streak(account, signal)
    with in_org(other_org):
        outsider = AccountFactory(name="Globex account")
        for days in (3, 2, 1):
            InteractionFactory(
                account=outsider, sentiment=-0.8, occurred_at=now - timedelta(days=days)
            )
        insights_detect(now=now)
        assert list(Insight.objects.values_list("account__name", flat=True)) == ["Globex account"]

    insights_detect(now=now)

    assert list(Insight.objects.values_list("account__name", flat=True)) == ["Cedar Health"]


def test_the_job_summary_says_what_was_found(account, signal, now):
    _negative_streak(account, signal)

    summary = insights_detect(now=now)

    assert str(summary).startswith("1 candidates, 1 new insights (1 risk_indicator)")


def test_the_operator_runs_detection_for_one_org_by_hand(account, signal):
    _negative_streak(account, signal)
    out = StringIO()

    call_command("run_periodic", "detect_patterns", "--org", "acme", stdout=out)

    assert "acme: detect_patterns: 1 candidates, 1 new insights" in out.getvalue()
    assert Insight.objects.filter(account=account, pattern_type="risk_indicator").exists()
