"""No user enumeration on the sign-in page: an unknown username and a wrong password get the
same answer in about the same time."""

import re
import statistics
import time

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.test import Client

from tests.conftest import ORG_HOST
from tests.factories.users import UserFactory


class MeasurablePBKDF2Hasher(PBKDF2PasswordHasher):
    """Production's hasher with fewer rounds: slow enough to time, fast enough for a test."""

    iterations = 40_000


def attempt(username: str, password: str = "wrong-password"):
    client = Client(HTTP_HOST=ORG_HOST)
    return client.post("/login/", {"username": username, "password": password})


def visible_text(response) -> str:
    page = response.content.decode()
    page = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", page)
    page = re.sub(r'"x-csrftoken": "[^"]+"', "", page)
    return page.replace('value="nobody"', 'value="USERNAME"').replace(
        'value="maria"', 'value="USERNAME"'
    )


def test_unknown_username_and_wrong_password_get_the_same_page(manager, settings):
    settings.AXES_FAILURE_LIMIT = 100
    unknown = attempt("nobody")
    wrong = attempt("maria")
    assert unknown.status_code == wrong.status_code == 200
    assert "Please enter a correct username and password" in unknown.content.decode()
    assert visible_text(unknown) == visible_text(wrong)


def test_an_inactive_account_gets_the_same_page_as_an_unknown_one(org, settings):
    settings.AXES_FAILURE_LIMIT = 100
    UserFactory(username="maria", is_active=False)
    assert visible_text(attempt("maria", "pw-for-tests")) == visible_text(attempt("nobody"))


def test_unknown_username_and_wrong_password_take_about_the_same_time(org, settings):
    settings.AXES_FAILURE_LIMIT = 100
    settings.PASSWORD_HASHERS = [f"{__name__}.MeasurablePBKDF2Hasher"]
    UserFactory(username="maria")  # hashed with the hasher above, like production users

    def median_seconds(username: str) -> float:
        samples = []
        for _ in range(7):
            started = time.perf_counter()
            attempt(username)
            samples.append(time.perf_counter() - started)
        return statistics.median(samples)

    attempt("maria"), attempt("nobody")  # warm up
    unknown, wrong = median_seconds("nobody"), median_seconds("maria")
    assert 0.6 < unknown / wrong < 1.6, f"unknown {unknown:.4f}s vs wrong password {wrong:.4f}s"


@pytest.mark.parametrize("username", ["maria", "nobody"])
def test_neither_answer_names_the_account(manager, settings, username):
    settings.AXES_FAILURE_LIMIT = 100
    page = attempt(username).content.decode().lower()
    assert "does not exist" not in page and "unknown user" not in page
    assert "wrong password" not in page
