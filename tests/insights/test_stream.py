"""Server-Sent Events, for real: uvicorn serves the ASGI app, a client holds the stream open,
and a service commits a critical insight in another connection."""

from __future__ import annotations

import http.client
import time

import pytest
from django_tenants.utils import schema_context

from apps.insights import events
from apps.insights.services import insight_act, insight_create
from tests.factories.crm import AccountFactory
from tests.factories.users import UserFactory
from tests.insights.asgi_server import host


def _critical(account, title="Cedar is about to churn"):
    return insight_create(
        account=account,
        pattern_type="risk_indicator",
        signal="negative_sentiment_streak",
        title=title,
        confidence=0.9,
        severity="critical",
    )[0]


def test_a_new_critical_insight_reaches_a_connected_manager_within_two_seconds(
    fresh_org, open_stream
):
    manager = UserFactory(username="maria", role="manager")
    account = AccountFactory(name="Cedar Health")
    stream = open_stream(fresh_org, manager)
    assert stream.response.status == 200
    assert stream.response.getheader("Content-Type").startswith("text/event-stream")
    stream.wait_until_live()

    started = time.monotonic()
    insight = _critical(account)
    event = stream.next_event(seconds=2)

    assert time.monotonic() - started < 2
    assert event["kind"] == "created"
    assert event["id"] == insight.pk
    assert event["subject"] == "Cedar Health"
    assert event["url"] == f"/insights/{insight.pk}/"


def test_acting_on_an_insight_tells_other_browsers_to_remove_it(fresh_org, open_stream):
    manager = UserFactory(username="maria", role="manager")
    insight = insight_create(
        account=AccountFactory(),
        pattern_type="buying_signal",
        signal="buying_interest",
        title="Pricing asked",
        confidence=0.6,
        severity="medium",
    )[0]
    stream = open_stream(fresh_org, manager)
    stream.wait_until_live()

    insight_act(insight=insight, user=manager)

    event = stream.next_event(seconds=2)
    assert (event["kind"], event["id"], event["status"]) == ("resolved", insight.pk, "acted")


def test_the_stream_carries_only_its_own_organisations_critical_events(fresh_org, open_stream):
    manager = UserFactory(username="maria", role="manager")
    stream = open_stream(fresh_org, manager)
    stream.wait_until_live()

    with schema_context("globex"):
        events.publish(
            {"kind": "created", "id": 999999, "title": "Globex secret", "owner_id": None}
        )
    insight_create(  # not critical: nothing is pushed
        account=AccountFactory(),
        pattern_type="engagement_change",
        signal="engagement_up",
        title="Engagement up 60%",
        confidence=0.6,
        severity="low",
    )
    ours = _critical(AccountFactory())

    assert stream.next_event(seconds=2)["id"] == ours.pk


def test_the_stream_follows_each_persons_live_choice_per_severity(fresh_org, open_stream):
    from apps.insights.services import alert_preferences_save

    manager = UserFactory(username="maria", role="manager")
    alert_preferences_save(user=manager, channels={"low": "live"})
    stream = open_stream(fresh_org, manager)
    stream.wait_until_live()

    insight_create(  # medium goes to the digest by default: not pushed
        account=AccountFactory(),
        pattern_type="buying_signal",
        signal="buying_interest",
        title="Pricing asked",
        confidence=0.6,
        severity="medium",
    )
    low = insight_create(
        account=AccountFactory(),
        pattern_type="engagement_change",
        signal="engagement_up",
        title="Engagement up 60%",
        confidence=0.6,
        severity="low",
    )[0]

    event = stream.next_event(seconds=2)
    assert (event["kind"], event["id"], event["severity"]) == ("created", low.pk, "low")


def test_a_rep_hears_only_about_their_own_accounts(fresh_org, open_stream):
    rep = UserFactory(username="rory", role="rep")
    stream = open_stream(fresh_org, rep)
    stream.wait_until_live()

    _critical(AccountFactory(name="Someone else's"))
    mine = _critical(AccountFactory(name="Rory's", owner=rep), title="Rory's account is at risk")

    assert stream.next_event(seconds=2)["id"] == mine.pk


def test_the_stream_needs_a_login(fresh_org, open_stream):
    stream = open_stream(fresh_org)

    assert stream.response.status == 302
    assert "/login/" in stream.response.getheader("Location")


def test_the_stream_accepts_only_get(fresh_org, asgi_port):
    connection = http.client.HTTPConnection("127.0.0.1", asgi_port, timeout=5)
    connection.request("POST", "/insights/stream/", headers={"Host": host(fresh_org)})

    assert connection.getresponse().status in (403, 405)  # CSRF refuses a bare POST first
    connection.close()


@pytest.mark.services
def test_with_redis_configured_events_fan_out_through_redis(fresh_org, open_stream, settings):
    settings.REDIS_URL = "redis://127.0.0.1:6379/15"
    events._redis_client.cache_clear()
    manager = UserFactory(username="maria", role="manager")
    stream = open_stream(fresh_org, manager)
    stream.wait_until_live()

    insight = _critical(AccountFactory())

    assert stream.next_event(seconds=2)["id"] == insight.pk
    events._redis_client.cache_clear()
