"""Clone and RegionProfile moved from personas to agents: state only, on any database.

A fresh database gets them through the migrations as they stand (every test database is
one); these tests take an organisation back to main's migrations, from before the move,
and migrate it forward as an existing deployment would.
"""

from __future__ import annotations

from io import StringIO

from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder
from django_tenants.utils import schema_context

from apps.agents.models import Clone, RegionProfile
from apps.tenancy.migration_safety import migration_check, schema_migrate, table_fingerprints
from tests.factories.users import UserFactory

MOVE_MIGRATIONS = {
    ("agents", "0001_clone_and_region_from_personas"),
    ("outcomes", "0007_clone_moved_to_agents"),
    ("approvals", "0003_clone_moved_to_agents"),
    ("goals", "0002_clone_moved_to_agents"),
    ("dashboards", "0003_clone_moved_to_agents"),
    ("personas", "0004_clone_and_region_moved_to_agents"),
}


def _applied(schema: str) -> set[tuple[str, str]]:
    with schema_context(schema):
        return set(MigrationRecorder(connection).applied_migrations())


def test_an_organisation_at_mains_migrations_moves_forward_keeping_every_row(plain_orgs, tmp_path):
    org = plain_orgs[0]
    with schema_context(org.schema_name):
        rep = UserFactory(username="mover", role="rep")
        Clone.objects.create(external_id="clone-kept", name="Kept", owner=rep)
        content_type = ContentType.objects.get_for_model(Clone).pk
    schema_migrate(org.schema_name, ("agents", None))  # main's state: no agents app yet
    connection.set_schema_to_public()
    assert not MOVE_MIGRATIONS & _applied(org.schema_name)
    with schema_context(org.schema_name):
        ContentType.objects.clear_cache()
        assert ContentType.objects.get(pk=content_type).app_label == "personas"
    before = table_fingerprints(org.schema_name)

    out = StringIO()
    call_command(
        "safe_migrate",
        "--org",
        org.slug,
        "--backup-dir",
        str(tmp_path),
        "--no-progress",
        stdout=out,
        stderr=StringIO(),
    )

    assert "All 1 schemas verified at the target." in out.getvalue()
    assert MOVE_MIGRATIONS <= _applied(org.schema_name)
    # every row of every table as it was, but for the bookkeeping and the two content
    # types, whose app label follows the models
    changed = {"django_migrations", "django_content_type"}
    after = table_fingerprints(org.schema_name)
    # (apps that only came after the move, e.g. reviews, start empty: not compared)
    assert {key: value for key, value in after.items() if key in before and key not in changed} == {
        key: value for key, value in before.items() if key not in changed
    }
    with schema_context(org.schema_name):
        ContentType.objects.clear_cache()
        assert ContentType.objects.get_for_model(Clone).pk == content_type  # admin history
        assert Clone.objects.get(external_id="clone-kept").owner.username == "mover"
        assert RegionProfile.objects.filter(code="dach").exists()  # seeded on main
        Clone.objects.filter(external_id="clone-kept").delete()
        rep.delete()
    assert migration_check(org_slugs=[org.slug]).ok


def test_the_move_changes_no_table_no_column_and_no_constraint():
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    statements = []
    for app_label, name in sorted(MOVE_MIGRATIONS):
        migration = executor.loader.get_migration(app_label, name)
        state = executor.loader.project_state((app_label, name), at_end=False)
        with connection.schema_editor(collect_sql=True, atomic=False) as editor:
            migration.apply(state, editor, collect_sql=True)
        statements += [sql for sql in editor.collected_sql if not sql.startswith("--")]

    assert statements == []
