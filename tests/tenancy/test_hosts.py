"""Host routing and the isolation of sessions between organisations."""

from django.test import Client

from tests.conftest import ORG_HOST, OTHER_HOST


def test_unknown_host_answers_404(org):
    assert Client(HTTP_HOST="nobody.localhost").get("/login/").status_code == 404


def test_login_page_names_the_organisation_of_the_host(page_client):
    response = page_client().get("/login/")
    assert response.status_code == 200
    assert "Acme Corp" in response.content.decode()


def test_health_check_on_the_public_host(org):
    response = Client(HTTP_HOST="localhost").get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_pages_need_a_login(page_client):
    response = page_client().get("/")
    assert response.status_code == 302
    assert response.url.startswith("/login/")


def test_user_of_one_org_cannot_sign_in_on_another_orgs_host(manager, org):
    ok = Client(HTTP_HOST=ORG_HOST).post(
        "/login/", {"username": "maria", "password": "pw-for-tests"}
    )
    assert ok.status_code == 302
    refused = Client(HTTP_HOST=OTHER_HOST).post(
        "/login/", {"username": "maria", "password": "pw-for-tests"}
    )
    assert refused.status_code == 200
    assert "correct username and password" in refused.content.decode()


def test_session_of_one_org_is_not_valid_on_another_orgs_host(manager, org):
    client = Client(HTTP_HOST=ORG_HOST)
    client.post("/login/", {"username": "maria", "password": "pw-for-tests"})
    home = client.get("/")
    assert not (home.status_code == 302 and home.url.startswith("/login/"))

    # The same cookie jar presented to another organisation's host means nothing there.
    response = client.get("/", HTTP_HOST=OTHER_HOST)
    assert response.status_code == 302
    assert response.url.startswith("/login/")


def test_session_cookie_is_host_only(manager, org):
    response = Client(HTTP_HOST=ORG_HOST).post(
        "/login/", {"username": "maria", "password": "pw-for-tests"}
    )
    cookie = response.cookies["ll_session"]
    assert cookie["domain"] == ""
    assert cookie["httponly"]


def test_logout_needs_post_and_ends_the_session(page_client, manager):
    client = page_client(manager)
    assert client.get("/logout/").status_code == 405
    assert client.post("/logout/").status_code == 302
    assert client.get("/").url.startswith("/login/")
