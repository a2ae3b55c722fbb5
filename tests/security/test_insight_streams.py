"""Issue 20.1 and issue 23's stream points: the live insight streams share ONE listener per
server process, are capped per person, close when their viewer loses access, and are
offered to API clients (``GET /api/v1/insights/stream/``) and on every page (the layout).

Real uvicorn (tests/insights/asgi_server.py) on committed data (``fresh_org``); the
listener's connections are counted in pg_stat_activity.
"""

from __future__ import annotations

import json
import time

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from apps.insights import events
from apps.insights.services import insight_create
from apps.users.models import ApiKey, User
from apps.users.services import api_key_create
from tests.factories.crm import AccountFactory
from tests.factories.users import UserFactory
from tests.insights.asgi_server import host


def _listener_connections() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND application_name = %s",
            [events.APPLICATION_NAME],
        )
        return cursor.fetchone()[0]


def _all_connections() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
        return cursor.fetchone()[0]


def _critical(account, title="Cedar is about to churn"):
    return insight_create(
        account=account,
        pattern_type="risk_indicator",
        signal="negative_sentiment_streak",
        title=title,
        confidence=0.9,
        severity="critical",
    )[0]


# --- one listener per process ---------------------------------------------------------------


def test_many_streams_from_one_user_share_one_database_connection(fresh_org, open_stream):
    manager = UserFactory(username="maria", role="manager")
    before = _all_connections()
    streams = [open_stream(fresh_org, manager) for _ in range(6)]
    for stream in streams:
        assert stream.status == 200
        stream.wait_until_live()

    assert _listener_connections() == 1
    assert _all_connections() - before <= 2  # the listener, at most one worker thread's

    insight = _critical(AccountFactory(name="Cedar Health"))
    assert [stream.next_event(seconds=2)["id"] for stream in streams] == [insight.pk] * 6


def test_streams_of_many_people_share_the_same_listener(fresh_org, open_stream):
    people = [UserFactory(username=f"m{index}", role="manager") for index in range(4)]
    streams = [open_stream(fresh_org, person) for person in people]
    for stream in streams:
        stream.wait_until_live()
    assert _listener_connections() == 1


# --- a cap per person -----------------------------------------------------------------------


def test_the_cap_on_open_streams_per_person_answers_clearly(fresh_org, open_stream, settings):
    settings.INSIGHT_STREAMS_PER_USER = 3
    manager = UserFactory(username="maria", role="manager")
    streams = [open_stream(fresh_org, manager) for _ in range(3)]
    for stream in streams:
        stream.wait_until_live()

    refused = open_stream(fresh_org, manager)
    assert refused.status == 429
    assert refused.response.getheader("Retry-After") == "30"
    assert "3 live streams open already" in refused.response.read().decode()

    # Someone else is not affected; closing a tab frees a place.
    other = open_stream(fresh_org, UserFactory(username="ada", role="admin"))
    assert other.status == 200
    streams[0].close()
    deadline = time.monotonic() + 5
    while True:
        again = open_stream(fresh_org, manager)
        if again.status == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert again.status == 200


def test_the_api_stream_is_capped_per_key_holder_too(fresh_org, open_stream, settings):
    settings.INSIGHT_STREAMS_PER_USER = 2
    key = api_key_create(name="agent")[1]
    for _ in range(2):
        open_stream(fresh_org, key=key).wait_until_live()
    refused = open_stream(fresh_org, key=key)
    assert refused.status == 429
    assert "live streams open already" in json.loads(refused.response.read())["detail"]


# --- a stream re-checks its viewer ----------------------------------------------------------


@pytest.fixture
def quick_recheck(settings):
    settings.INSIGHT_STREAM_RECHECK_SECONDS = 0.5


def test_a_deactivated_users_stream_closes(fresh_org, open_stream, quick_recheck):
    manager = UserFactory(username="maria", role="manager")
    stream = open_stream(fresh_org, manager)
    stream.wait_until_live()

    User.objects.filter(pk=manager.pk).update(is_active=False)

    assert "no longer allowed" in stream.next_event(seconds=3, name="closed")["reason"]
    assert stream.ended(seconds=3)


def test_a_stream_narrows_when_a_manager_becomes_a_rep(fresh_org, open_stream, quick_recheck):
    person = UserFactory(username="maria", role="manager")
    stream = open_stream(fresh_org, person)
    stream.wait_until_live()
    assert not stream.ended(seconds=1.5)  # still allowed: it lives on across re-checks

    User.objects.filter(pk=person.pk).update(role="rep")
    time.sleep(1.5)  # a re-check happens

    _critical(AccountFactory(name="Someone else's"))
    mine = _critical(AccountFactory(name="Hers", owner=person), title="Her account at risk")
    assert stream.next_event(seconds=3)["id"] == mine.pk


def test_a_stream_closes_when_its_session_is_signed_out(fresh_org, open_stream, quick_recheck):
    from apps.users.models import UserSession

    manager = UserFactory(username="maria", role="manager")
    stream = open_stream(fresh_org, manager)
    stream.wait_until_live()

    UserSession.objects.all().delete()

    assert stream.next_event(seconds=3, name="closed")
    assert stream.ended(seconds=3)


def test_a_revoked_keys_stream_closes(fresh_org, open_stream, quick_recheck):
    key, raw = api_key_create(name="agent")
    stream = open_stream(fresh_org, key=raw)
    stream.wait_until_live()

    ApiKey.objects.filter(pk=key.pk).update(revoked_at=timezone.now())

    assert stream.next_event(seconds=3, name="closed")
    assert stream.ended(seconds=3)


# --- GET /api/v1/insights/stream/ (issue 23) ------------------------------------------------


def test_an_agent_key_hears_the_same_events_a_browser_gets(fresh_org, open_stream):
    manager = UserFactory(username="maria", role="manager")
    browser = open_stream(fresh_org, manager)
    api = open_stream(fresh_org, key=api_key_create(name="agent")[1])
    assert api.status == 200
    assert api.response.getheader("Content-Type").startswith("text/event-stream")
    browser.wait_until_live()
    api.wait_until_live()

    insight = _critical(AccountFactory(name="Cedar Health"))

    assert api.next_event(seconds=2) == browser.next_event(seconds=2)
    assert insight.pk


def test_a_reps_personal_key_hears_only_about_their_own_accounts(fresh_org, open_stream):
    rep = UserFactory(username="rory", role="rep")
    stream = open_stream(fresh_org, key=api_key_create(name="rory", user=rep)[1])
    stream.wait_until_live()

    _critical(AccountFactory(name="Someone else's"))
    mine = _critical(AccountFactory(name="Rory's", owner=rep), title="Rory's account at risk")

    assert stream.next_event(seconds=2)["id"] == mine.pk


def test_the_api_stream_needs_a_valid_key_of_this_organisation(
    fresh_org, open_stream, in_org, django_db_blocker
):
    from apps.tenancy.models import Organization

    assert open_stream(fresh_org, key="ll_00000000_wrong").status == 401
    with django_db_blocker.unblock(), in_org(Organization.objects.get(slug="globex")):
        other = api_key_create(name="globex agent")
    try:
        assert open_stream(fresh_org, key=other[1]).status == 401
    finally:
        with django_db_blocker.unblock(), in_org(Organization.objects.get(slug="globex")):
            other[0].delete()
    no_key = open_stream(fresh_org, path="/api/v1/insights/stream/")
    assert no_key.status in (401, 403)


def test_the_api_stream_is_in_the_openapi_schema(fresh_org):
    client = Client(HTTP_HOST=host(fresh_org))
    schema = client.get("/api/schema/", {"format": "json"}).json()
    operation = schema["paths"]["/api/v1/insights/stream/"]["get"]
    assert "text/event-stream" in operation["responses"]["200"]["content"]
    assert "Server-Sent Events" in operation["summary"]


# --- the layout (issue 23) and WSGI ---------------------------------------------------------


def test_every_page_opens_one_stream_through_the_layout(fresh_org):
    manager = UserFactory(username="maria", role="manager")
    client = Client(HTTP_HOST=host(fresh_org))
    client.force_login(manager)
    for path in ["/", "/outcomes/", "/insights/"]:
        page = client.get(path, follow=True).content.decode()
        assert page.count("data-insight-stream=") == 1, path
        assert "js/insights.js" in page


def test_under_wsgi_the_streams_answer_204_and_open_no_connection(fresh_org):
    manager = UserFactory(username="maria", role="manager")
    key = api_key_create(name="agent")[1]
    before = _listener_connections()
    browser = Client(HTTP_HOST=host(fresh_org))
    browser.force_login(manager)
    api = Client(HTTP_HOST=host(fresh_org), HTTP_AUTHORIZATION=f"Bearer {key}")
    for _ in range(5):
        assert browser.get("/insights/stream/").status_code == 204
        assert browser.get("/outcomes/").status_code == 200  # a page view with the layout
        assert (
            api.get("/api/v1/insights/stream/", HTTP_ACCEPT="text/event-stream").status_code == 204
        )
    assert _listener_connections() == before


@pytest.mark.services
def test_with_redis_many_streams_share_one_subscription(fresh_org, open_stream, settings):
    import redis

    settings.REDIS_URL = "redis://127.0.0.1:6379/3"
    events._redis_client.cache_clear()
    try:
        channel = events.redis_channel()
        client = redis.Redis.from_url(settings.REDIS_URL)
        # (a server of an earlier test in this run may still hold its one subscription)
        ((_, before),) = client.pubsub_numsub(channel)
        people = [UserFactory(username=f"m{index}", role="manager") for index in range(4)]
        streams = [open_stream(fresh_org, person) for person in people for _ in range(2)]
        for stream in streams:
            stream.wait_until_live()
        ((_, after),) = client.pubsub_numsub(channel)
        assert after >= 1 and after - before <= 1  # 8 streams, at most one more subscriber

        insight = _critical(AccountFactory())
        assert {stream.next_event(seconds=2)["id"] for stream in streams} == {insight.pk}
    finally:
        events._redis_client.cache_clear()
