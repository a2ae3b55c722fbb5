"""Deal warnings: no activity for N days, close date passed, single-threaded deal."""

from __future__ import annotations

from datetime import timedelta

import pytest

from apps.insights.models import Insight, InsightSettings
from apps.insights.services import insight_dismiss, insights_detect
from tests.conftest import OTHER_HOST
from tests.factories.crm import AccountFactory, DealFactory


def signals() -> list[str]:
    """Every signal that fired, the open insight's and those folded into it."""
    found = []
    for insight in Insight.objects.all():
        found += [insight.signal, *insight.evidence.get("other_signals", [])]
    return sorted(found)


def thresholds(**values) -> None:
    InsightSettings.objects.update_or_create(id=1, defaults=values)


def test_an_open_deal_without_activity_for_the_threshold_is_flagged(account, signal, now):
    deal = DealFactory(account=account, stage="proposal", stage_changed_at=now - timedelta(days=40))
    signal(account, 20, summary="Last reply")

    insights_detect(now=now)

    [insight] = Insight.objects.filter(signal="deal_inactive")
    assert insight.account == account and insight.pattern_type == "risk_indicator"
    assert insight.evidence["deal_id"] == deal.pk
    assert insight.evidence["idle_days"] == pytest.approx(20, abs=0.1)
    assert insight.severity == "medium"
    assert "no activity for 20 days" in insight.title


def test_recent_activity_or_a_closed_deal_or_a_higher_threshold_is_not_flagged(
    account, signal, now
):
    DealFactory(account=account, stage="proposal", stage_changed_at=now - timedelta(days=40))
    signal(account, 5)
    closed = AccountFactory()
    DealFactory(account=closed, stage="closed_lost", stage_changed_at=now - timedelta(days=90))
    silent = AccountFactory()
    DealFactory(account=silent, stage="discovery", stage_changed_at=now - timedelta(days=20))
    thresholds(deal_inactive_days=30)

    insights_detect(now=now)

    assert "deal_inactive" not in signals()


def test_activity_on_another_deal_of_the_account_does_not_count(account, signal, now):
    quiet = DealFactory(
        account=account, stage="proposal", stage_changed_at=now - timedelta(days=60)
    )
    busy = DealFactory(account=account, stage="discovery")
    signal(account, 1, deal=busy)

    insights_detect(now=now)

    [insight] = Insight.objects.filter(account=account)
    assert "deal_inactive" in signals()  # the stalled-deal risk may hold the slot instead
    if insight.signal == "deal_inactive":
        assert insight.evidence["deal_id"] == quiet.pk
        assert insight.severity == "high"  # 60 days, over twice the 14-day threshold


def test_a_passed_close_date_is_flagged_and_grace_days_delay_it(account, now):
    deal = DealFactory(
        account=account, stage="negotiation", close_date=(now - timedelta(days=3)).date()
    )
    DealFactory(stage="closed_won", close_date=(now - timedelta(days=30)).date())
    DealFactory(stage="proposal", close_date=(now + timedelta(days=3)).date())

    thresholds(close_date_grace_days=5)
    insights_detect(now=now)
    assert "close_date_passed" not in signals()

    thresholds(close_date_grace_days=0)
    insights_detect(now=now)
    [insight] = Insight.objects.filter(signal="close_date_passed")
    assert insight.account == account and insight.severity == "high"
    assert insight.evidence == insight.evidence | {"deal_id": deal.pk, "overdue_days": 3}


def test_a_deal_a_month_overdue_is_critical(account, now):
    DealFactory(account=account, stage="proposal", close_date=(now - timedelta(days=45)).date())

    insights_detect(now=now)

    assert Insight.objects.get(account=account).severity == "critical"


def test_a_deal_where_only_one_contact_engaged_is_single_threaded(account, signal, now):
    DealFactory(account=account, stage="negotiation", amount=50_000)
    for days in (2, 9, 16):
        signal(account, days, contact_name="Dana Kim")
    signal(account, 60, contact_name="Lee Park")  # outside the 30-day window
    signal(account, 3, contact_name="", direction="outbound")

    insights_detect(now=now)

    [insight] = Insight.objects.filter(signal="single_threaded")
    assert insight.evidence["contact"] == "Dana Kim" and insight.evidence["messages"] == 3
    assert insight.severity == "high"  # a late-stage deal


def test_two_contacts_or_no_open_deal_is_not_single_threaded(account, signal, now):
    DealFactory(account=account, stage="discovery")
    signal(account, 2, contact_name="Dana Kim")
    signal(account, 4, contact_name="Lee Park")
    won = AccountFactory()
    DealFactory(account=won, stage="closed_won")
    signal(won, 2, contact_name="Solo Buyer")

    insights_detect(now=now)

    assert "single_threaded" not in signals()


def test_the_window_is_a_threshold_in_the_settings(account, signal, now):
    DealFactory(account=account, stage="discovery")
    signal(account, 2, contact_name="Dana Kim")
    signal(account, 20, contact_name="Lee Park")
    thresholds(single_thread_window_days=14)

    insights_detect(now=now)

    assert "single_threaded" in signals()


def test_deal_warnings_are_deduplicated_like_the_other_detectors(account, signal, manager, now):
    DealFactory(account=account, stage="proposal", close_date=(now - timedelta(days=3)).date())

    insights_detect(now=now)
    insights_detect(now=now + timedelta(hours=1))
    [insight] = Insight.objects.all()

    insight_dismiss(insight=insight, user=manager, reason="already_handled")
    insights_detect(now=now + timedelta(days=1))
    assert Insight.objects.count() == 1  # not raised again within redetect_after_days

    insights_detect(now=now + timedelta(days=9))
    assert Insight.objects.filter(status="pending").count() == 1


@pytest.mark.parametrize("deals", [2, 60])
def test_deal_detectors_run_a_fixed_number_of_queries(
    org, now, signal, django_assert_max_num_queries, deals
):
    for number in range(deals):
        account = AccountFactory(industry=f"industry {number}")  # no cross-account pattern
        DealFactory(
            account=account,
            stage="proposal",
            stage_changed_at=now - timedelta(days=30),
            close_date=(now - timedelta(days=2)).date(),
        )
        signal(account, 20 + number % 5, contact_name="Only One")

    # settings, eight detectors, cross-account, and storing each batch: same for 2 or 60
    with django_assert_max_num_queries(21):  # 20 + the one NOTIFY of every new insight
        insights_detect(now=now)
    assert Insight.objects.count() == deals


def test_close_date_is_part_of_the_deal_api(agent_api, org):
    AccountFactory(external_id="acc-cd")
    created = agent_api.post(
        "/api/v1/deals/",
        {"external_id": "d-1", "account": "acc-cd", "name": "Renewal", "close_date": "2026-12-31"},
        format="json",
    )
    kept = agent_api.post(
        "/api/v1/deals/",
        {"external_id": "d-1", "account": "acc-cd", "name": "Renewal 2"},
        format="json",
    )
    cleared = agent_api.post(
        "/api/v1/deals/",
        {"external_id": "d-1", "account": "acc-cd", "name": "Renewal", "close_date": None},
        format="json",
    )
    bad = agent_api.post(
        "/api/v1/deals/",
        {"external_id": "d-2", "account": "acc-cd", "name": "X", "close_date": "soon"},
        format="json",
    )

    assert created.status_code == 201 and created.data["close_date"] == "2026-12-31"
    assert kept.status_code == 200 and kept.data["close_date"] == "2026-12-31"
    assert cleared.data["close_date"] is None
    assert bad.status_code == 400 and "close_date" in bad.data


def test_another_organisations_overdue_deal_raises_nothing_here(
    account, now, other_org, in_org, api_client, manager_key
):
    with in_org(other_org):
        DealFactory(stage="proposal", close_date=(now - timedelta(days=10)).date())

    insights_detect(now=now)

    assert Insight.objects.count() == 0
    assert api_client(manager_key, host=OTHER_HOST).get("/api/v1/insights/").status_code == 401
