"""Every browser POST needs the CSRF token, HTMX requests included."""

import re

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from apps.feedback.models import FeedbackEntry
from tests.conftest import ORG_HOST
from tests.factories.approvals import PendingActionFactory
from tests.factories.outcomes import OutcomeFactory


@pytest.fixture
def strict_client(manager):
    client = Client(HTTP_HOST=ORG_HOST, enforce_csrf_checks=True)
    client.force_login(manager)
    return client


def csrf_token(client: Client) -> str:
    client.get("/", follow=True)  # every page renders the token, which sets the cookie
    return client.cookies["ll_csrftoken"].value


def test_an_htmx_post_without_the_token_is_refused(strict_client):
    response = strict_client.post("/logout/", HTTP_HX_REQUEST="true")
    assert response.status_code == 403
    assert strict_client.get("/", follow=True).wsgi_request.user.is_authenticated


def test_an_htmx_post_with_the_token_header_is_accepted(strict_client):
    token = csrf_token(strict_client)
    response = strict_client.post("/logout/", HTTP_HX_REQUEST="true", HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 302
    assert not strict_client.get("/login/").wsgi_request.user.is_authenticated


def test_a_token_from_another_session_does_not_count(strict_client, rep):
    stranger = Client(HTTP_HOST=ORG_HOST, enforce_csrf_checks=True)
    stranger.force_login(rep)
    response = strict_client.post(
        "/logout/", HTTP_HX_REQUEST="true", HTTP_X_CSRFTOKEN=csrf_token(stranger)
    )
    assert response.status_code == 403


def test_an_api_post_signed_in_by_session_without_the_token_is_refused(strict_client):
    response = strict_client.post(
        "/api/v1/accounts/",
        {"external_id": "A-1", "name": "Initech"},
        content_type="application/json",
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]


def test_an_api_post_with_a_bearer_key_needs_no_token(api_client, agent_key):
    client = api_client(agent_key)
    client.enforce_csrf_checks = True
    response = client.post(
        "/api/v1/accounts/", {"external_id": "A-1", "name": "Initech"}, format="json"
    )
    assert response.status_code in (200, 201)


def _page_views(patterns, prefix=""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _page_views(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry.callback


def test_no_page_or_htmx_view_is_exempt_from_csrf(org):
    exempt = [
        route
        for route, view in _page_views(get_resolver("learning_site.urls").url_patterns)
        # DRF views are exempt by design and enforce CSRF for session calls themselves.
        if getattr(view, "csrf_exempt", False) and not route.startswith("api/")
    ]
    assert exempt == []


def test_an_htmx_fragment_leaves_the_csrf_cookie_the_browser_holds(strict_client, manager):
    """A fragment rendering a form token would make Django send the cookie again each time
    (renewing its expiry). Pages still renew it, and a browser without it gets it."""
    outcome = OutcomeFactory()
    page = strict_client.get(f"/feedback/outcomes/{outcome.pk}/")
    assert "ll_csrftoken" in page.cookies  # a page renews the cookie
    token = strict_client.cookies["ll_csrftoken"].value
    form_token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)[1]

    rated = strict_client.post(
        f"/feedback/outcomes/{outcome.pk}/rate/",
        {"rating": 1},
        HTTP_HX_REQUEST="true",
        HTTP_X_CSRFTOKEN=token,
    )

    assert rated.status_code == 200
    assert "ll_csrftoken" not in rated.cookies
    # The rating buttons swapped in post through HTMX, with the page's token as a header:
    # they carry no token of their own; the page's form still posts without JavaScript.
    assert 'hx-post="' in rated.text and "csrfmiddlewaretoken" not in rated.text
    again = strict_client.post(
        f"/feedback/outcomes/{outcome.pk}/rate/", {"rating": -1, "csrfmiddlewaretoken": form_token}
    )
    assert again.status_code == 302
    assert FeedbackEntry.objects.get(outcome=outcome, user=manager).rating == -1

    # Without the cookie (cleared by the browser), a fragment with a form token sets one.
    PendingActionFactory()
    fresh = Client(HTTP_HOST=ORG_HOST, enforce_csrf_checks=True)
    fresh.force_login(manager)
    queue = fresh.get("/approvals/", HTTP_HX_REQUEST="true")
    assert queue.status_code == 200 and "csrfmiddlewaretoken" in queue.text
    assert "ll_csrftoken" in queue.cookies
