"""Issue 20.10: password spraying (one password, many usernames, one address) is locked out
after a per-address limit, with the same friendly page; the per-username limit still holds."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.conftest import ORG_HOST, OTHER_HOST
from tests.factories.users import UserFactory

PER_USERNAME = 5
PER_ADDRESS = 20


@pytest.fixture(autouse=True)
def limits(settings):
    settings.AXES_FAILURE_LIMIT = PER_USERNAME
    settings.LOGIN_FAILURE_LIMIT_PER_ADDRESS = PER_ADDRESS


def sign_in(username: str, password: str, address: str = "10.0.0.9", host: str = ORG_HOST):
    client = Client(HTTP_HOST=host, REMOTE_ADDR=address)
    return client.post("/login/", {"username": username, "password": password})


def spray(count: int, address: str = "10.0.0.9", host: str = ORG_HOST) -> list[int]:
    return [
        sign_in(f"user{number}", "Summer2026!", address, host).status_code
        for number in range(count)
    ]


def test_thirty_usernames_from_one_address_are_locked_after_the_limit(manager):
    statuses = spray(30)
    assert statuses[: PER_ADDRESS - 1] == [200] * (PER_ADDRESS - 1)
    assert statuses[PER_ADDRESS - 1 :] == [429] * (30 - PER_ADDRESS + 1)


def test_the_address_lockout_is_the_same_friendly_page_even_for_a_right_password(manager):
    spray(PER_ADDRESS)
    response = sign_in("maria", "pw-for-tests")
    assert response.status_code == 429
    page = response.content.decode()
    assert "Too many failed sign-in attempts. Try again in 15 minutes." in page
    assert 'name="password"' in page
    assert response["Retry-After"] == "900"
    assert "_auth_user_id" not in response.wsgi_request.session


def test_other_addresses_are_not_locked_by_a_sprayer(manager):
    spray(PER_ADDRESS, address="10.0.0.9")
    assert sign_in("maria", "pw-for-tests", address="10.0.0.10").status_code == 302


def test_a_sprayer_cannot_clear_the_address_count_by_signing_in_themselves(manager):
    spray(PER_ADDRESS - 2)
    UserFactory(username="mallory", role="rep")
    assert sign_in("mallory", "pw-for-tests").status_code == 302
    assert spray(2) == [200, 429]


def test_the_per_username_limit_still_holds_below_the_address_limit(manager):
    statuses = [sign_in("maria", "wrong").status_code for _ in range(PER_USERNAME)]
    assert statuses == [200] * (PER_USERNAME - 1) + [429]
    assert sign_in("sam", "wrong").status_code == 200  # the address itself is not locked


def test_spraying_one_organisation_does_not_lock_the_address_out_of_another(
    manager, other_org, in_org
):
    with in_org(other_org):
        UserFactory(username="olga", role="manager")
    spray(PER_ADDRESS, host=ORG_HOST)
    assert sign_in("olga", "pw-for-tests", host=OTHER_HOST).status_code == 302
