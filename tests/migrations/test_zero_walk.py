"""Unapply every migration of the project on a schema full of data, then apply them again.

This runs after the other migration tests on purpose (files run in name order): it empties
the demo organisation's project tables, which the other tests read.
"""

from __future__ import annotations

from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader

from apps.tenancy.migration_safety import (
    migration_targets,
    schema_plan,
    table_columns,
    table_fingerprints,
)
from tests.migrations.conftest import project_tenant_apps


def _migrate(schema: str, targets) -> None:
    connection.set_schema(schema)
    try:
        MigrationExecutor(connection).migrate(targets)
    finally:
        connection.set_schema_to_public()


def test_every_project_migration_unapplies_and_reapplies_on_a_schema_with_data(seeded_org):
    schema = seeded_org.schema_name
    project_apps = project_tenant_apps()
    loader = MigrationLoader(None, ignore_no_migrations=True)
    project_migrations = {key for key in loader.disk_migrations if key[0] in project_apps}
    columns = table_columns(schema)
    assert table_fingerprints(schema, {"crm_account": columns["crm_account"]})["crm_account"][0]

    _migrate(schema, [(app_label, None) for app_label in project_apps])
    connection.set_schema_to_public()
    remaining = schema_plan(MigrationExecutor(connection), schema, migration_targets())
    outside = {table: names for table, names in table_columns(schema).items() if table in columns}
    # a model that moved between apps takes its content type along (agents.0001 relabels
    # personas' clone and region profile, and its reverse relabels them back)
    outside["django_content_type"] = [
        name for name in outside["django_content_type"] if name != "app_label"
    ]
    untouched = table_fingerprints(
        schema, {t: n for t, n in outside.items() if t != "django_migrations"}
    )
    _migrate(schema, migration_targets())

    assert project_migrations <= {(step.app_label, step.name) for step in remaining}
    assert not any(table.startswith(f"{app}_") for app in project_apps for table in outside)
    assert schema_plan(MigrationExecutor(connection), schema, migration_targets()) == []
    assert table_columns(schema) == columns
    assert (
        table_fingerprints(schema, {t: n for t, n in outside.items() if t != "django_migrations"})
        == untouched
    )
