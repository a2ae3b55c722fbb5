"""Sessions read from the shared cache (``SESSION_ENGINE`` cached_db, chosen with Redis):
no query of the session table per request, and still signed out at once everywhere, and
never valid on another organisation's host (cache keys carry the schema)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

from tests.conftest import ORG_HOST, OTHER_HOST
from tests.sql import statements_of

BADGE = "/approvals/?count=1"  # a signed-in manager's light request


@pytest.fixture(autouse=True)
def cached_sessions(settings):
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"


def _same_browser(client: Client, host: str = ORG_HOST) -> Client:
    """Another client sending ``client``'s session cookie (to ``host``)."""
    copy = Client(HTTP_HOST=host)
    copy.cookies["ll_session"] = client.cookies["ll_session"].value
    return copy


def test_a_signed_in_request_does_not_query_the_session_table(org, manager, page_client):
    browser = page_client(manager)
    assert browser.get(BADGE).status_code == 200
    statements = statements_of(lambda: browser.get(BADGE))
    assert not [sql for sql in statements if "django_session" in sql]


def test_signing_out_ends_the_session_at_once(org, manager, page_client):
    browser = page_client(manager)
    replay = _same_browser(browser)
    assert replay.get(BADGE).status_code == 200
    assert browser.post("/logout/").status_code == 302
    response = replay.get(BADGE)
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_a_session_is_not_valid_on_another_organisations_host(org, other_org, manager, page_client):
    browser = page_client(manager)
    assert browser.get(BADGE).status_code == 200
    response = _same_browser(browser, OTHER_HOST).get(BADGE)
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_a_deactivated_person_is_signed_out_on_the_next_request(org, manager, page_client):
    browser = page_client(manager)
    assert browser.get(BADGE).status_code == 200
    manager.is_active = False
    manager.save()
    response = browser.get(BADGE)
    assert response.status_code == 302 and "/login/" in response["Location"]


@pytest.mark.parametrize(
    ("redis_url", "engine"),
    [("redis://127.0.0.1:9/0", "cached_db"), ("", "db")],
)
def test_sessions_are_cached_only_on_a_shared_cache(redis_url, engine):
    environment = {**os.environ, "REDIS_URL": redis_url, "DJANGO_ENV": "production"}
    environment["DJANGO_SETTINGS_MODULE"] = "learning_site.settings"
    environment.setdefault("SECRET_KEY", "x" * 50)
    shown = subprocess.run(
        [sys.executable, "-c", "from django.conf import settings; print(settings.SESSION_ENGINE)"],
        cwd=Path(__file__).resolve().parents[2],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout.strip()
    assert shown == f"django.contrib.sessions.backends.{engine}"
