"""The defences the attack of issue 20 found holding, pinned so they stay held: another
organisation's keys and sessions mean nothing here, host-header variants never cross
organisations, CSRF refuses a sibling organisation's Origin, and no ``next`` leaves the site."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.test import Client

from apps.insights.models import Insight
from tests.conftest import ORG_HOST, OTHER_HOST
from tests.factories.approvals import PendingActionFactory
from tests.factories.crm import AccountFactory
from tests.factories.insights import InsightFactory
from tests.factories.outcomes import OutcomeFactory

# --- another organisation's credentials -----------------------------------------------------


@pytest.fixture
def globex_session(other_org, in_org, other_org_manager) -> str:
    """The session cookie value of Olga, signed in at globex."""
    with in_org(other_org):
        client = Client(HTTP_HOST=OTHER_HOST)
        client.force_login(other_org_manager)
        return client.cookies[settings.SESSION_COOKIE_NAME].value


def test_another_organisations_key_is_401_on_every_api_read(api_client, other_agent_key):
    client = api_client(other_agent_key)
    for path in ["/api/v1/outcomes/", "/api/v1/actions/", "/api/v1/accounts/", "/api/v1/insights/"]:
        assert client.get(path).status_code == 401, path


def test_another_organisations_session_is_not_signed_in_here(globex_session, manager):
    client = Client(HTTP_HOST=ORG_HOST)
    client.cookies[settings.SESSION_COOKIE_NAME] = globex_session
    page = client.get("/approvals/")
    assert page.status_code == 302 and "/login/" in page["Location"]
    assert client.get("/api/v1/outcomes/").status_code in (401, 403)


def test_this_organisations_session_is_not_signed_in_at_a_sibling(page_client, manager, other_org):
    ours = page_client(manager)
    cookie = ours.cookies[settings.SESSION_COOKIE_NAME].value
    sibling = Client(HTTP_HOST=OTHER_HOST)
    sibling.cookies[settings.SESSION_COOKIE_NAME] = cookie
    page = sibling.get("/approvals/")
    assert page.status_code == 302 and "/login/" in page["Location"]


def test_an_id_of_another_organisation_is_a_404(api_client, agent_key, other_org, in_org):
    with in_org(other_org):
        theirs = PendingActionFactory()
    assert api_client(agent_key).get(f"/api/v1/actions/{theirs.pk}/").status_code == 404


# --- host-header variants -------------------------------------------------------------------


@pytest.mark.parametrize(
    "host", ["ACME.localhost", "Acme.Localhost", "acme.localhost.", "acme.localhost:8000"]
)
def test_host_variants_reach_this_organisation_or_nothing(api_client, agent_key, host):
    AccountFactory(external_id="acc-ours", name="Ours Inc")
    response = api_client(agent_key, host=host).get("/api/v1/accounts/")
    assert response.status_code in (200, 400, 401, 404)
    if response.status_code == 200:
        assert [row["external_id"] for row in response.json()["results"]] == ["acc-ours"]


@pytest.mark.parametrize(
    "host", ["globex.localhost", "GLOBEX.localhost", "globex.localhost.", "globex.localhost:80"]
)
def test_a_sibling_host_never_serves_our_data_with_our_key(api_client, agent_key, host):
    AccountFactory(external_id="acc-ours", name="Ours Inc")
    response = api_client(agent_key, host=host).get("/api/v1/accounts/")
    assert response.status_code in (400, 401, 404)
    assert "acc-ours" not in response.content.decode()


@pytest.mark.parametrize(
    "host", ["evil.com", "localhost", "acme.localhost.evil.com", "acme.localhost@evil.com", ""]
)
def test_unknown_or_forged_hosts_get_nothing(agent_key, host):
    client = Client(HTTP_HOST=host, HTTP_AUTHORIZATION=f"Bearer {agent_key}")
    response = client.get("/api/v1/accounts/")
    assert response.status_code in (400, 404)


def test_a_sibling_host_with_our_session_shows_nothing_of_ours(page_client, manager):
    InsightFactory(title="Our secret churn risk")
    ours = page_client(manager)
    sibling = Client(HTTP_HOST=OTHER_HOST)
    sibling.cookies = ours.cookies
    response = sibling.get("/insights/", follow=True)
    assert "Our secret churn risk" not in response.content.decode()


# --- CSRF across sibling organisations ------------------------------------------------------


@pytest.fixture
def strict_manager(manager) -> Client:
    client = Client(HTTP_HOST=ORG_HOST, enforce_csrf_checks=True)
    client.force_login(manager)
    client.get("/", follow=True)  # sets the CSRF cookie
    return client


@pytest.mark.parametrize(
    "origin", ["http://globex.localhost", "https://globex.localhost", "http://evil.com", "null"]
)
def test_a_post_with_a_sibling_or_foreign_origin_is_refused(strict_manager, origin):
    insight = InsightFactory()
    token = strict_manager.cookies[settings.CSRF_COOKIE_NAME].value
    response = strict_manager.post(
        f"/insights/{insight.pk}/act/", {"note": ""}, HTTP_X_CSRFTOKEN=token, HTTP_ORIGIN=origin
    )
    assert response.status_code == 403
    assert Insight.objects.get(pk=insight.pk).status == "pending"


def test_the_same_post_from_our_own_origin_is_accepted(strict_manager):
    insight = InsightFactory()
    token = strict_manager.cookies[settings.CSRF_COOKIE_NAME].value
    response = strict_manager.post(
        f"/insights/{insight.pk}/act/",
        {"note": ""},
        HTTP_X_CSRFTOKEN=token,
        HTTP_ORIGIN=f"http://{ORG_HOST}",
    )
    assert response.status_code == 302
    assert Insight.objects.get(pk=insight.pk).status == "acted"


def test_a_sibling_origin_cannot_post_to_the_api_by_session(strict_manager):
    token = strict_manager.cookies[settings.CSRF_COOKIE_NAME].value
    response = strict_manager.post(
        "/api/v1/accounts/",
        {"external_id": "A-1", "name": "Initech"},
        content_type="application/json",
        HTTP_X_CSRFTOKEN=token,
        HTTP_ORIGIN="http://globex.localhost",
    )
    assert response.status_code == 403


# --- `next` never leaves the site -----------------------------------------------------------

EVIL_NEXTS = [
    "//evil.com",
    "//evil.com/path",
    "/\\evil.com",
    "\\\\evil.com",
    "https:evil.com",
    "https://evil.com",
    "http:/evil.com",
    "%2F%2Fevil.com",
    "/%2F/evil.com",
    "///evil.com",
    " //evil.com",
    "\t//evil.com",
    "javascript:alert(1)",
    "https://globex.localhost/",
    "//acme.localhost@evil.com",
]


def _stays_here(location: str) -> bool:
    parts = urlsplit(location)
    if "\\" in location or location.strip() != location:
        return False
    return (not parts.scheme and not parts.netloc) or parts.netloc == ORG_HOST


@pytest.mark.parametrize("target", EVIL_NEXTS)
def test_login_never_redirects_off_site(manager, target):
    client = Client(HTTP_HOST=ORG_HOST)
    response = client.post(
        f"/login/?next={target}", {"username": "maria", "password": "pw-for-tests"}
    )
    assert response.status_code == 302
    assert _stays_here(response["Location"]), response["Location"]
    response = client.post(
        "/login/", {"username": "maria", "password": "pw-for-tests", "next": target}
    )
    assert _stays_here(response.get("Location", "/")), response.get("Location")


@pytest.mark.parametrize("target", EVIL_NEXTS)
def test_page_actions_never_redirect_off_site(page_client, manager, target):
    client = page_client(manager)
    action = PendingActionFactory()
    decided = client.post(
        f"/approvals/{action.pk}/decide/", {"decision": "approve", "next": target}
    )
    assert decided.status_code == 302 and _stays_here(decided["Location"]), decided["Location"]

    insight = InsightFactory()
    acted = client.post(f"/insights/{insight.pk}/act/", {"note": "", "next": target})
    assert acted.status_code == 302 and _stays_here(acted["Location"]), acted["Location"]

    outcome = OutcomeFactory()
    rated = client.post(f"/feedback/outcomes/{outcome.pk}/rate/", {"rating": "1", "next": target})
    assert rated.status_code == 302 and _stays_here(rated["Location"]), rated["Location"]


@pytest.mark.parametrize("target", EVIL_NEXTS)
def test_logout_never_redirects_off_site(page_client, manager, target):
    client = page_client(manager)
    response = client.post("/logout/", {"next": target})
    assert _stays_here(response.get("Location", "/")), response.get("Location")
