"""Committed organisations for migration tests.

Migrations run DDL and django-tenants commits and closes the connection after each
schema, so these tests cannot live inside the usual rolled-back transaction: they run in
autocommit on organisations of their own, created once for the folder and dropped afterwards.
Every organisation is brought back to the latest migration after each test.
"""

from __future__ import annotations

import itertools
import os
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.loader import MigrationLoader

from apps.tenancy.migration_safety import migration_check, schema_migrate
from apps.tenancy.models import Organization
from apps.tenancy.services import organization_create

_numbers = itertools.count(1)


@pytest.fixture(scope="package")
def _package_orgs(django_db_setup, django_db_blocker):
    created: list[Organization] = []
    yield created
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        for org in created:
            org.delete(force_drop=True)


@pytest.fixture(autouse=True)
def committed(_package_orgs, django_db_blocker):
    """Autocommit database access; afterwards every organisation is at the latest again."""
    with django_db_blocker.unblock():
        yield
        connection.set_schema_to_public()
        quote = connection.ops.quote_name
        for org in _package_orgs:
            with connection.cursor() as cursor:  # a test may have planted a failing trigger
                cursor.execute(
                    f"DROP TRIGGER IF EXISTS refuse_migrations "
                    f"ON {quote(org.schema_name)}.django_migrations"
                )
        if _package_orgs:
            run = migration_check(org_slugs=[org.slug for org in _package_orgs])
            for result in run.failed:
                schema_migrate(result.schema)
        connection.set_schema_to_public()


def _make_org(created: list[Organization], django_db_blocker, *, seed: bool) -> Organization:
    slug = f"mig{os.getpid()}x{next(_numbers)}"
    with django_db_blocker.unblock():
        org = organization_create(slug=slug, name=f"Migration test {slug}")
        created.append(org)
        if seed:
            call_command("seed_demo", org=slug, no_progress=True, stdout=StringIO())
        connection.set_schema_to_public()
    return org


@pytest.fixture(scope="package")
def seeded_org(_package_orgs, django_db_blocker) -> Organization:
    """A committed organisation with demo data in every app that has a seeder."""
    return _make_org(_package_orgs, django_db_blocker, seed=True)


@pytest.fixture(scope="package")
def plain_orgs(_package_orgs, django_db_blocker) -> list[Organization]:
    """Two committed organisations with only the rows their migrations seed."""
    return [_make_org(_package_orgs, django_db_blocker, seed=False) for _ in range(2)]


@pytest.fixture
def orgs(seeded_org, plain_orgs) -> list[Organization]:
    return [seeded_org, *plain_orgs]


def rollback_candidate() -> tuple[str, str]:
    """The project migration whose rollback undoes the fewest migrations: ``(app, target)``.

    Found at run time, so the tests follow the migrations other apps add.
    """
    from django.conf import settings

    loader = MigrationLoader(None, ignore_no_migrations=True)
    graph = loader.graph
    tenant_apps = {name.rsplit(".", 1)[-1] for name in settings.TENANT_APPS}
    leaves = [
        node
        for node in graph.leaf_nodes()
        if node[0] in tenant_apps and loader.get_migration(*node).__module__.startswith("apps.")
    ]

    def previous(node) -> str:
        same_app = [p.key for p in graph.node_map[node].parents if p.key[0] == node[0]]
        return same_app[0][1] if same_app else "zero"

    # Fewest migrations undone; of those, one that keeps its app: a rollback to zero drops
    # and re-creates every table of the app, and an initial migration that fails while it
    # is being recorded (the failure test's trigger) left its tables behind.
    app_label, name = min(
        leaves,
        key=lambda node: (len(graph.backwards_plan(node)), previous(node) == "zero", node),
    )
    return app_label, previous((app_label, name))


def project_tenant_apps() -> list[str]:
    """Labels of this project's apps (``apps.*``) that have migrations and live in tenants."""
    from django.apps import apps
    from django.conf import settings

    loader = MigrationLoader(None, ignore_no_migrations=True)
    return sorted(
        config.label
        for config in apps.get_app_configs()
        if config.name.startswith("apps.")
        and config.name in settings.TENANT_APPS
        and config.label in {app_label for app_label, _ in loader.disk_migrations}
    )


def apps_with_a_migration_to_roll_back() -> list[str]:
    """Project tenant apps whose latest migration has an earlier one in the same app.

    An app with only its initial migration is rolled back to zero and forward again by
    the walk over every migration (test_zero_walk), which drops and re-creates its tables.
    """
    return [app for app in project_tenant_apps() if latest_and_previous(app)[1] is not None]


def latest_and_previous(app_label: str) -> tuple[str, str | None]:
    """The app's latest migration and the one before it in the same app (None: zero)."""
    loader = MigrationLoader(None, ignore_no_migrations=True)
    (latest,) = [node for node in loader.graph.leaf_nodes() if node[0] == app_label]
    parents = [p.key for p in loader.graph.node_map[latest].parents if p.key[0] == app_label]
    return latest[1], parents[0][1] if parents else None


def row_checksums(schema: str, columns: dict[str, list[str]]) -> dict[str, dict[str, str]]:
    """``table -> {primary key: md5 of the row over columns}`` for every table in columns."""
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT cls.relname, att.attname
            FROM pg_index idx
            JOIN pg_class cls ON cls.oid = idx.indrelid
            JOIN pg_namespace ns ON ns.oid = cls.relnamespace
            JOIN pg_attribute att ON att.attrelid = cls.oid AND att.attnum = idx.indkey[0]
            WHERE ns.nspname = %s AND idx.indisprimary AND idx.indnatts = 1
            """,
            [schema],
        )
        primary_keys = dict(cursor.fetchall())
        checksums: dict[str, dict[str, str]] = {}
        for table, names in columns.items():
            row = f"md5(ROW({', '.join(map(quote, names))})::text)" if names else "''"
            key = quote(primary_keys[table])
            cursor.execute(f"SELECT {key}::text, {row} FROM {quote(schema)}.{quote(table)}")
            checksums[table] = dict(cursor.fetchall())
        return checksums


def assert_rows_kept(
    columns: dict[str, list[str]],
    kept: dict[str, list[str]],
    before: dict[str, dict[str, str]],
    during: dict[str, dict[str, str]],
    after: dict[str, dict[str, str]],
) -> None:
    """Every table the rollback kept has as many rows after the roll-forward as before, and
    every row the rollback kept is value for value what it was (rows that a reversed data
    migration deleted and the forward one re-created are only counted)."""
    for table, names in kept.items():
        assert len(after[table]) == len(before[table]), f"{table}: rows lost"
        survivors = before[table].keys() & during[table].keys()
        for key in survivors:
            if names == columns[table]:
                assert during[table][key] == before[table][key], f"{table} row {key} changed"
            assert after[table][key] == during[table][key], f"{table} row {key} changed"


def without_bookkeeping(columns: dict[str, list[str]]) -> dict[str, list[str]]:
    return {table: names for table, names in columns.items() if table != "django_migrations"}
