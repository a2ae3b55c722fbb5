"""Login rate limiting: a username is locked out from a client address after repeated
failures, per organisation, and the lockout reveals nothing about which accounts exist."""

import pytest
from django.test import Client

from tests.conftest import ORG_HOST, OTHER_HOST
from tests.factories.users import UserFactory

LIMIT = 5


@pytest.fixture(autouse=True)
def failure_limit(settings):
    settings.AXES_FAILURE_LIMIT = LIMIT


def sign_in(username: str, password: str, host: str = ORG_HOST, address: str = "10.0.0.1"):
    client = Client(HTTP_HOST=host, REMOTE_ADDR=address)
    return client.post("/login/", {"username": username, "password": password})


def fail_until_locked(username: str, host: str = ORG_HOST, address: str = "10.0.0.1"):
    for _ in range(LIMIT - 1):
        response = sign_in(username, "wrong-password", host=host, address=address)
        assert response.status_code == 200
        assert "correct username and password" in response.content.decode()
    # The failure that reaches the limit already answers with the lockout.
    assert sign_in(username, "wrong-password", host=host, address=address).status_code == 429


def test_a_correct_password_signs_in(manager):
    response = sign_in("maria", "pw-for-tests")
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_after_five_failures_even_the_right_password_is_refused_with_429(manager):
    fail_until_locked("maria")
    response = sign_in("maria", "pw-for-tests")
    assert response.status_code == 429
    assert "Too many failed sign-in attempts. Try again in 15 minutes." in response.content.decode()
    assert response["Retry-After"] == "900"
    assert "_auth_user_id" not in response.wsgi_request.session


def test_the_lockout_page_is_the_sign_in_form_with_the_username_kept(manager):
    fail_until_locked("maria")
    page = sign_in("maria", "pw-for-tests").content.decode()
    assert 'name="password"' in page
    assert 'value="maria"' in page


def test_an_unknown_username_is_locked_out_exactly_like_a_real_one(manager):
    fail_until_locked("maria")
    fail_until_locked("nobody")
    real = sign_in("maria", "x")
    unknown = sign_in("nobody", "x")
    assert real.status_code == unknown.status_code == 429
    assert real["Retry-After"] == unknown["Retry-After"]
    message = "Too many failed sign-in attempts"
    assert message in real.content.decode() and message in unknown.content.decode()


def test_a_lockout_in_one_org_does_not_lock_out_the_same_username_in_another(
    manager, other_org, in_org
):
    with in_org(other_org):
        UserFactory(username="maria", role="manager")
    fail_until_locked("maria", host=ORG_HOST)
    assert sign_in("maria", "pw-for-tests", host=ORG_HOST).status_code == 429
    assert sign_in("maria", "pw-for-tests", host=OTHER_HOST).status_code == 302


def test_a_lockout_from_one_address_does_not_lock_out_another_address(manager):
    fail_until_locked("maria", address="10.0.0.1")
    assert sign_in("maria", "pw-for-tests", address="10.0.0.1").status_code == 429
    assert sign_in("maria", "pw-for-tests", address="10.0.0.2").status_code == 302


def test_a_successful_sign_in_resets_the_failure_count(manager):
    for _ in range(LIMIT - 1):
        sign_in("maria", "wrong-password")
    assert sign_in("maria", "pw-for-tests").status_code == 302
    for _ in range(LIMIT - 1):
        sign_in("maria", "wrong-password")
    assert sign_in("maria", "pw-for-tests").status_code == 302


def test_the_admin_login_is_rate_limited_too(admin_user):
    client = Client(HTTP_HOST=ORG_HOST, REMOTE_ADDR="10.0.0.9")
    for _ in range(LIMIT):
        client.post("/admin/login/", {"username": "ada", "password": "wrong"})
    response = client.post("/admin/login/", {"username": "ada", "password": "pw-for-tests"})
    assert response.status_code == 429


def test_signing_in_without_a_request_still_works_for_tests_and_shells(manager):
    assert Client(HTTP_HOST=ORG_HOST).login(username="maria", password="pw-for-tests")
