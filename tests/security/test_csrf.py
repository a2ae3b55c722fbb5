"""Every browser POST needs the CSRF token, HTMX requests included."""

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from tests.conftest import ORG_HOST


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
