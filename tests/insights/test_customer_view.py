from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.outcomes.models import ActionType, OutcomeRecord
from tests.factories.crm import AccountFactory
from tests.factories.insights import InsightFactory

HTMX = {"HTTP_HX_REQUEST": "true"}


def url(account) -> str:
    return f"/accounts/{account.pk}/"


def _outcome(account, days_ago: int, number: int):
    action_type = ActionType.objects.get(code="email_sent")
    at = timezone.now() - timedelta(days=days_ago)
    return OutcomeRecord.objects.create(
        external_id=f"out-{account.pk}-{number}",
        action_type=action_type,
        account=account,
        predicted_confidence=0.7,
        occurred_at=at,
        window_ends_at=at + timedelta(hours=24),
    )


def test_customer_view_shows_the_timeline_in_time_order_across_channels(
    page_client, manager, account, signal
):
    signal(account, 40, channel="meeting", summary="Quarterly business review")
    signal(account, 2, channel="email", summary="Asked for pricing")
    signal(account, 10, channel="chat", summary="Asked how SSO works")

    response = page_client(manager).get(url(account))

    assert response.status_code == 200
    summaries = [item.summary for item in response.context["timeline"]]
    assert summaries == ["Asked for pricing", "Asked how SSO works", "Quarterly business review"]


def test_summaries_count_by_channel_and_show_sentiment_trend_and_key_points(
    page_client, manager, account, signal
):
    signal(account, 100, sentiment=-0.5)
    signal(account, 5, channel="email", sentiment=0.4, key_points=["wants SSO", "budget ok"])
    signal(account, 20, channel="meeting", sentiment=0.6, key_points=["wants SSO"])
    signal(account, 200, channel="chat", sentiment=0.1)

    summaries = {s["days"]: s for s in page_client(manager).get(url(account)).context["summaries"]}

    assert summaries[30]["total"] == 2
    assert dict(summaries[30]["channels"]) == {"Email": 1, "Chat": 0, "Meeting": 1, "CRM": 0}
    assert summaries[30]["sentiment"] == pytest.approx(0.5)
    assert summaries[90]["trend"] == "up"
    assert summaries[30]["key_points"][0] == ("wants SSO", 2)
    assert summaries[365]["total"] == 4


def test_customer_view_lists_open_insights_and_recent_outcomes(page_client, manager, account):
    InsightFactory(account=account, title="Champion went quiet")
    InsightFactory(
        account=account,
        title="Closed one",
        status="acted",
        resolved_at=timezone.now(),
        pattern_type="buying_signal",
    )
    _outcome(account, 3, 1)

    response = page_client(manager).get(url(account))

    assert b"Champion went quiet" in response.content
    assert b"Closed one" not in response.content
    assert len(response.context["outcomes"]) == 1


def test_timeline_is_paginated_and_pages_by_htmx(page_client, manager, account, signal):
    for day in range(30):
        signal(account, day + 1, summary=f"message {day}")
    client = page_client(manager)

    first = client.get(url(account))
    second = client.get(url(account), {"page": 2}, HTTP_HX_TARGET="timeline", **HTMX)

    assert len(first.context["timeline"]) == 25
    assert second.status_code == 200
    assert b"<html" not in second.content
    assert b"message 29" in second.content


def test_rep_cannot_open_another_reps_account(page_client, rep):
    assert page_client(rep).get(url(AccountFactory())).status_code == 404


def test_rep_opens_their_own_account(page_client, rep, account):
    assert page_client(rep).get(url(account)).status_code == 200


def test_an_account_of_another_org_is_a_404(other_manager_client, account):
    assert other_manager_client.get(url(account)).status_code == 404


def test_customer_view_needs_a_login_and_accepts_only_get(page_client, manager, account):
    assert page_client().get(url(account)).status_code == 302
    assert page_client(manager).post(url(account)).status_code == 405


def test_an_unknown_page_number_shows_the_last_page(page_client, manager, account, signal):
    signal(account, 1, summary="only one")

    response = page_client(manager).get(url(account), {"page": "abc"})

    assert response.status_code == 200
    assert b"only one" in response.content


@pytest.mark.parametrize("rows", [3, 60])
def test_customer_view_runs_a_fixed_number_of_queries(
    page_client, manager, account, signal, rows, django_assert_max_num_queries
):
    for day in range(rows):
        signal(account, day % 300 + 1, key_points=[f"point {day % 7}"])
        _outcome(account, day % 20 + 1, day)
        if day < 3:
            InsightFactory(
                account=account,
                pattern_type=["risk_indicator", "buying_signal", "engagement_change"][day],
            )
    client = page_client(manager)
    client.get(url(account))

    with django_assert_max_num_queries(13):
        assert client.get(url(account)).status_code == 200
