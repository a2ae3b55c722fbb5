"""Shared fixtures: two organisations, a user of each role, API keys, clients.

The test database holds two organisations for the whole session: ``acme`` (the one under
test, ``acme.localhost``) and ``globex`` (``other_org``, for isolation tests). Every test
using ``org`` runs inside a transaction in acme's schema that is rolled back afterwards.
Tests that need committed data (concurrency, live server) use ``fresh_org``.
"""

from __future__ import annotations

import os

import pytest
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connection, transaction
from django.test import Client
from django_tenants.utils import schema_context, tenant_context
from rest_framework.test import APIClient

from apps.tenancy.lookups import lookup_caches_clear
from apps.tenancy.models import Organization, ThrottleCounter
from apps.tenancy.services import organization_create, public_tenant_ensure
from apps.users.services import api_key_create
from tests.factories.users import UserFactory

ORG_SLUG = "acme"
OTHER_SLUG = "globex"
ORG_HOST = "acme.localhost"
OTHER_HOST = "globex.localhost"


@pytest.fixture(scope="session")
def django_db_setup(
    request,
    django_test_environment,
    django_db_blocker,
    django_db_keepdb,
    django_db_createdb,
    django_db_modify_db_settings,
):
    """The test database with its two organisations, whatever tests were collected.

    Every test here reaches the database, through ``org`` (which asks for ``db``) or through
    ``fresh_org`` (committed data, outside any test transaction). pytest-django's own fixture
    creates the database only when a collected test asks for ``db`` or the ``django_db``
    marker, and neither fits ``fresh_org``: ``db`` wraps the test in a transaction other
    threads never see, and ``transactional_db`` flushes the shared tables (the organisations
    themselves) after it. So this fixture, pytest-django's documented place to customise the
    setup, always creates the default database, with the same reuse options.
    """
    from django.test.utils import setup_databases, teardown_databases

    keepdb = django_db_keepdb and not django_db_createdb
    with django_db_blocker.unblock():
        databases = setup_databases(
            verbosity=request.config.option.verbose,
            interactive=False,
            aliases={DEFAULT_DB_ALIAS},
            keepdb=keepdb,
        )
        public_tenant_ensure()
        for slug, name in [(ORG_SLUG, "Acme Corp"), (OTHER_SLUG, "Globex")]:
            if not Organization.objects.filter(slug=slug).exists():
                organization_create(slug=slug, name=name)
    yield
    if not django_db_keepdb:
        with django_db_blocker.unblock():
            teardown_databases(databases, verbosity=request.config.option.verbose)


@pytest.fixture
def org(db, django_db_setup):
    """The organisation under test; the connection is in its schema for the test."""
    tenant = Organization.objects.get(slug=ORG_SLUG)
    connection.set_tenant(tenant)
    yield tenant
    connection.set_schema_to_public()
    lookup_caches_clear()  # rows rolled back with the test sent no signal


@pytest.fixture
def other_org(org):
    """A second organisation. Use ``in_org(other_org)`` to create data in it."""
    return Organization.objects.get(slug=OTHER_SLUG)


@pytest.fixture
def in_org():
    """``with in_org(tenant): ...`` runs the block in that tenant's schema."""
    return tenant_context


def _user(role: str, username: str, **extra):
    return UserFactory(username=username, role=role, **extra)


@pytest.fixture
def manager(org):
    return _user("manager", "maria", first_name="Maria", last_name="Manager")


@pytest.fixture
def rep(org, manager):
    return _user("rep", "rory", first_name="Rory", last_name="Rep", manager=manager)


@pytest.fixture
def executive(org):
    return _user("executive", "erin", first_name="Erin", last_name="Exec")


@pytest.fixture
def admin_user(org):
    return _user("admin", "ada", first_name="Ada", last_name="Admin")


@pytest.fixture
def other_org_manager(other_org, in_org):
    with in_org(other_org):
        user = _user("manager", "olga", first_name="Olga", last_name="Other")
    return user


@pytest.fixture
def agent_key(org) -> str:
    """A raw agent API key of acme."""
    return api_key_create(name="agent")[1]


@pytest.fixture
def other_agent_key(other_org, in_org) -> str:
    with in_org(other_org):
        return api_key_create(name="globex agent")[1]


@pytest.fixture
def manager_key(manager) -> str:
    return api_key_create(name="maria's key", user=manager)[1]


@pytest.fixture
def rep_key(rep) -> str:
    return api_key_create(name="rory's key", user=rep)[1]


@pytest.fixture
def page_client(org):
    """``page_client(user, host=ORG_HOST)``: a browser-like client logged in as ``user``."""

    def make(user=None, host: str = ORG_HOST) -> Client:
        client = Client(HTTP_HOST=host)
        if user is not None:
            client.force_login(user)
        return client

    return make


@pytest.fixture
def api_client(org):
    """``api_client(key=None, host=ORG_HOST)``: an API client with a bearer key."""

    def make(key: str | None = None, host: str = ORG_HOST, user=None) -> APIClient:
        client = APIClient(HTTP_HOST=host)
        if key:
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
        if user is not None:
            client.force_login(user)
        return client

    return make


@pytest.fixture
def agent_api(api_client, agent_key):
    return api_client(agent_key)


@pytest.fixture
def manager_api(api_client, manager_key):
    return api_client(manager_key)


@pytest.fixture(scope="session")
def _fresh_org_schema(django_db_setup, django_db_blocker):
    """One committed organisation for the session, and a pristine copy of its tables.

    Migrating a new schema takes seconds; resetting this one to its just-migrated state
    (default rows from data migrations included) takes milliseconds.
    """
    slug = f"fresh{os.getpid()}"
    with django_db_blocker.unblock():
        tenant = organization_create(slug=slug, name="Fresh Org")
        pristine = f"{tenant.schema_name}_pristine"
        with connection.cursor() as cursor:
            cursor.execute(f'CREATE SCHEMA "{pristine}"')
            for table in _tables(cursor, tenant.schema_name):
                cursor.execute(
                    f'CREATE TABLE "{pristine}"."{table}" AS TABLE "{tenant.schema_name}"."{table}"'
                )
        yield tenant, pristine
        connection.set_schema_to_public()
        with connection.cursor() as cursor:
            cursor.execute(f'DROP SCHEMA "{pristine}" CASCADE')
        tenant.delete(force_drop=True)


def _tables(cursor, schema: str) -> list[str]:
    cursor.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = %s AND tablename <> 'django_migrations'",
        [schema],
    )
    return [row[0] for row in cursor.fetchall()]


def _reset_schema(schema: str, pristine: str) -> None:
    # One transaction: foreign keys are deferred, so the copy order of the tables is free.
    with transaction.atomic(), connection.cursor() as cursor:
        tables = _tables(cursor, schema)
        quoted = ", ".join(f'"{schema}"."{table}"' for table in tables)
        cursor.execute(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE")
        for table in tables:
            cursor.execute(f'INSERT INTO "{schema}"."{table}" SELECT * FROM "{pristine}"."{table}"')
            if cursor.rowcount:
                cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [f'"{schema}"."{table}"'])
                sequence = cursor.fetchone()[0]
                if sequence:
                    cursor.execute(
                        f'SELECT setval(%s, (SELECT max(id) FROM "{schema}"."{table}"))',
                        [sequence],
                    )


@pytest.fixture
def fresh_org(_fresh_org_schema, django_db_blocker):
    """A committed organisation (for concurrency and live-server tests).

    Data written in it is really committed, so other connections and threads see it.
    It is reset to its just-migrated state after each test. The test runs in autocommit,
    outside any wrapping transaction; do not combine with ``org``.
    """
    tenant, pristine = _fresh_org_schema
    with django_db_blocker.unblock():
        with schema_context(tenant.schema_name):
            yield tenant
        connection.set_schema_to_public()
        _reset_schema(tenant.schema_name, pristine)
        cache.clear()
        ThrottleCounter.objects.all().delete()  # API budgets without Redis (committed)
        lookup_caches_clear()


@pytest.fixture
def chat(org, settings):
    """The organisation's chat webhook pointed at a local receiver; ``chat.posts`` holds what
    it was sent (loopback allowed for this test only)."""
    from apps.approvals.models import ApprovalSettings
    from tests.receivers import ChatReceiver

    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    receiver = ChatReceiver()
    ApprovalSettings.objects.get_or_create(singleton=True)
    ApprovalSettings.objects.update(chat_webhook_url=receiver.url)
    yield receiver
    receiver.close()


@pytest.fixture(scope="module")
def asgi_port(django_db_setup, django_db_blocker):
    """A real ASGI server (uvicorn, in a thread) for live-stream tests: its port."""
    from tests.insights.asgi_server import running_asgi_server

    with django_db_blocker.unblock(), running_asgi_server() as port:
        yield port


@pytest.fixture
def open_stream(asgi_port):
    """``open_stream(tenant, user=None, key="", path="")``: an open event stream, closed after."""
    from tests.insights.asgi_server import Stream, session_cookie

    streams = []

    def connect(tenant, user=None, *, key: str = "", path: str = ""):
        cookie = session_cookie(tenant, user) if user is not None else ""
        stream = Stream(asgi_port, tenant, cookie=cookie, key=key, path=path)
        streams.append(stream)
        return stream

    yield connect
    for stream in streams:
        stream.close()
