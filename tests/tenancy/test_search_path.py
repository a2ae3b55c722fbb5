"""``SET search_path`` only when the database connection's path is not the one wanted
(apps.tenancy.postgresql_backend): never a query in another organisation's schema, and the
path is set again whenever PostgreSQL may have discarded it (a rollback, a rollback to a
savepoint, a connection given back in the middle of a transaction)."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test import Client

from apps.tenancy.postgresql_backend.base import _PATH
from tests.conftest import ORG_HOST, OTHER_HOST
from tests.factories.crm import AccountFactory
from tests.sql import statements_of


def _sets(statements: list[str]) -> list[str]:
    return [sql for sql in statements if sql.startswith("SET search_path")]


def _path_in_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW search_path")
        return cursor.fetchone()[0]


def _account_names(host: str, key: str) -> list[str]:
    """The organisation's accounts, read through the API (a query in its schema)."""
    client = Client(HTTP_HOST=host, HTTP_AUTHORIZATION=f"Bearer {key}")
    response = client.get("/api/v1/accounts/")
    assert response.status_code == 200, response.content
    return [row["name"] for row in response.json()["results"]]


@pytest.fixture
def accounts(org, other_org, in_org):
    AccountFactory(name="Acme's customer")
    with in_org(other_org):
        AccountFactory(name="Globex's customer")


def test_requests_of_one_organisation_set_the_path_once(org, agent_key, accounts):
    _account_names(ORG_HOST, agent_key)
    again = statements_of(lambda: _account_names(ORG_HOST, agent_key))
    assert again and not _sets(again)
    assert _path_in_database().startswith(org.schema_name)


def test_another_organisation_sets_its_own_path_and_sees_its_own_rows(
    org, other_org, agent_key, other_agent_key, accounts
):
    for _ in range(2):
        assert _account_names(ORG_HOST, agent_key) == ["Acme's customer"]
        statements = statements_of(lambda: _account_names(OTHER_HOST, other_agent_key))
        # (the first time, the host's domain is looked up in the public schema before)
        assert _sets(statements)[-1] == f'SET search_path = "{other_org.schema_name}","public"'
        assert _account_names(OTHER_HOST, other_agent_key) == ["Globex's customer"]
        assert _path_in_database().startswith(other_org.schema_name)


def test_a_rolled_back_savepoint_that_set_the_path_sets_it_again(org, other_org):
    _path_in_database()  # the path is org's
    with pytest.raises(RuntimeError), transaction.atomic():
        connection.set_tenant(other_org)
        assert _path_in_database().startswith(other_org.schema_name)
        raise RuntimeError  # ROLLBACK TO SAVEPOINT: PostgreSQL restores org's path
    assert _path_in_database().startswith(other_org.schema_name)  # so it was sent again


def test_a_rolled_back_transaction_that_set_the_path_sets_it_again(fresh_org):
    _path_in_database()  # the path is fresh_org's
    with pytest.raises(RuntimeError), transaction.atomic():
        connection.set_schema_to_public()
        assert _path_in_database() == "public"
        raise RuntimeError  # ROLLBACK: PostgreSQL restores fresh_org's path
    assert getattr(connection.connection, _PATH) is None
    assert _path_in_database() == "public"  # sent again


def test_a_connection_closed_inside_a_transaction_forgets_its_path(fresh_org):
    transaction.set_autocommit(False)
    try:
        _path_in_database()
        raw = connection.connection
        assert getattr(raw, _PATH) == [fresh_org.schema_name, "public"]
        connection.close()  # a pool would roll the connection back, and the path with it
        assert getattr(raw, _PATH) is None
    finally:
        connection.close()
        transaction.set_autocommit(True)
    connection.set_tenant(fresh_org)
    assert _path_in_database().startswith(fresh_org.schema_name)


def test_a_new_connection_remembers_nothing(fresh_org):
    _path_in_database()
    connection.close()
    connection.set_tenant(fresh_org)
    assert _sets(statements_of(_path_in_database))
