"""safe_migrate across several organisations on real PostgreSQL.

Each test first makes work for the command by rolling back, in some organisations, the
project migration whose rollback is cheapest (found at run time), then runs the command.
"""

from __future__ import annotations

import shutil
import subprocess
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from apps.tenancy.migration_safety import (
    LOCK_KEY,
    MigrationSafetyError,
    SchemaResult,
    disk_space_check,
    migration_check,
    migration_targets,
    postgres_tool,
    schema_migrate,
    schemas_verify,
    server_major_version,
    table_columns,
    table_fingerprints,
    table_row_counts,
)
from apps.tenancy.migration_safety.stats import schema_structure, schema_structures
from tests.migrations.conftest import (
    assert_rows_kept,
    rollback_candidate,
    row_checksums,
    without_bookkeeping,
)
from tests.migrations.probe import crm_migrations_with


def _org_args(orgs) -> list[str]:
    return [arg for org in orgs for arg in ("--org", org.slug)]


def _run(*args, progress: StringIO | None = None) -> str:
    out = StringIO()
    flags = [] if progress else ["--no-progress"]
    call_command("safe_migrate", *args, *flags, stdout=out, stderr=progress or StringIO())
    return out.getvalue()


def _put_behind(*orgs) -> tuple[str, str]:
    """Roll the cheapest project migration back in ``orgs``; returns (app, target)."""
    app_label, target = rollback_candidate()
    for org in orgs:
        schema_migrate(org.schema_name, (app_label, None if target == "zero" else target))
    connection.set_schema_to_public()
    return app_label, target


def _applied(schema: str) -> list[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT app, name FROM {connection.ops.quote_name(schema)}.django_migrations "
            "ORDER BY app, name"
        )
        return cursor.fetchall()


def _fingerprints_of(schema: str, columns: dict[str, list[str]]) -> dict:
    columns = {table: names for table, names in columns.items() if table != "django_migrations"}
    return table_fingerprints(schema, columns)


def test_plan_prints_per_schema_what_would_run_and_changes_nothing(orgs):
    behind, up_to_date, _ = orgs
    app_label, _ = _put_behind(behind)
    applied_before = _applied(behind.schema_name)

    output = _run("--plan", *_org_args([behind, up_to_date]))

    after_behind = output.split(f"{behind.schema_name} (")[1]
    behind_section = after_behind.split(up_to_date.schema_name)[0]
    assert "to run" in behind_section
    assert f"apply {app_label}." in behind_section
    assert f"{up_to_date.schema_name} ({up_to_date.name}): up to date" in output
    assert "1 of 2 schemas would change. Nothing was changed." in output
    assert _applied(behind.schema_name) == applied_before


def test_plan_of_a_rollback_lists_what_would_be_unapplied(orgs):
    app_label, target = rollback_candidate()

    output = _run("--plan", "--rollback", app_label, target, *_org_args(orgs[:2]))

    assert output.count(f"unapply {app_label}.") == 2
    assert migration_check(org_slugs=[org.slug for org in orgs]).ok


def test_migrate_backs_up_changed_schemas_runs_and_verifies_every_organisation(orgs, tmp_path):
    first, second, untouched = orgs
    _put_behind(first, second)
    progress = StringIO()

    output = _run("--backup-dir", str(tmp_path), *_org_args(orgs), progress=progress)

    assert sorted(path.name for path in tmp_path.glob("*.backup")) == sorted(
        [f"{first.schema_name}.backup", f"{second.schema_name}.backup"]
    )
    summary = {line.split()[0]: line.split() for line in output.splitlines() if line}
    assert summary[first.schema_name][-1] == "ok" and summary[first.schema_name][1] != "0"
    assert summary[untouched.schema_name][1:] == ["0", "0.0s", "ok"]
    assert "All 3 schemas verified at the target." in output
    assert "migrate: 100%" in progress.getvalue() and "2/2" in progress.getvalue()
    assert migration_check(org_slugs=[org.slug for org in orgs]).ok


def test_backup_file_restores_the_schema_exactly(orgs, tmp_path):
    org = orgs[0]
    _put_behind(org)
    as_backed_up = _fingerprints_of(org.schema_name, table_columns(org.schema_name))
    _run("--backup-dir", str(tmp_path), "--org", org.slug)  # backs up, then migrates
    backup = tmp_path / f"{org.schema_name}.backup"
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:  # then something goes badly wrong
        cursor.execute(f"TRUNCATE {quote(org.schema_name)}.crm_interaction CASCADE")
        cursor.execute(f"DROP TABLE {quote(org.schema_name)}.crm_deal CASCADE")

    output = _run("--restore", str(backup))

    assert f"Restored {org.schema_name} from {backup}" in output
    restored = _fingerprints_of(org.schema_name, table_columns(org.schema_name))
    assert restored == as_backed_up
    assert restored["crm_interaction"][0] > 0
    assert not migration_check(org_slugs=[org.slug]).ok  # behind again, as it was backed up


def test_restore_of_a_whole_backup_directory_restores_every_schema(orgs, tmp_path):
    first, second, _ = orgs
    _put_behind(first, second)
    _run("--parallel", "2", "--backup-dir", str(tmp_path), *_org_args([first, second]))
    assert migration_check(org_slugs=[first.slug, second.slug]).ok

    output = _run("--restore", str(tmp_path))

    assert f"Restored {first.schema_name}" in output
    assert f"Restored {second.schema_name}" in output
    run = migration_check(org_slugs=[first.slug, second.slug])
    assert [result.ok for result in run.results] == [False, False]  # as they were backed up


def test_plan_without_orgs_covers_public_and_every_organisation(orgs):
    output = _run("--plan")

    assert output.startswith("public (public): ")
    for org in orgs:
        assert f"{org.schema_name} ({org.name}): up to date" in output
    assert "Nothing was changed." in output


def test_check_catches_a_schema_left_behind(orgs):
    first, second, third = orgs
    _put_behind(second)

    with pytest.raises(CommandError, match="1 of 3 schemas failed verification"):
        _run("--check", *_org_args(orgs))

    run = migration_check(org_slugs=[org.slug for org in orgs])
    by_schema = {result.schema: result for result in run.results}
    assert by_schema[first.schema_name].ok and by_schema[third.schema_name].ok
    assert "not at the target" in by_schema[second.schema_name].problems[0]


def test_a_failing_schema_stops_the_run_and_prints_restore_instructions(orgs, tmp_path):
    first, second, third = sorted(orgs, key=lambda org: org.schema_name)
    _put_behind(first, second, third)
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE OR REPLACE FUNCTION public.refuse_migrations() RETURNS trigger "
            "LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'injected failure'; END $$"
        )
        cursor.execute(
            f"CREATE TRIGGER refuse_migrations BEFORE INSERT ON "
            f"{quote(second.schema_name)}.django_migrations "
            "FOR EACH ROW EXECUTE FUNCTION public.refuse_migrations()"
        )

    with pytest.raises(CommandError) as failure:
        _run("--backup-dir", str(tmp_path), *_org_args(orgs))

    message = str(failure.value)
    assert "schemas failed verification" in message
    assert f"safe_migrate --restore {tmp_path / (second.schema_name + '.backup')}" in message
    run = migration_check(org_slugs=[org.slug for org in orgs])
    by_schema = {result.schema: result.ok for result in run.results}
    # the first one was migrated, the failing one rolled back, the third never started
    assert by_schema == {
        first.schema_name: True,
        second.schema_name: False,
        third.schema_name: False,
    }
    assert (tmp_path / f"{second.schema_name}.backup").is_dir()


def test_rollback_and_roll_forward_keep_every_pre_existing_row(orgs, tmp_path):
    seeded = orgs[:2]  # one with demo data, one with the rows its migrations seed
    app_label, target = rollback_candidate()
    columns = {org.slug: without_bookkeeping(table_columns(org.schema_name)) for org in seeded}
    before = {org.slug: row_checksums(org.schema_name, columns[org.slug]) for org in seeded}

    rollback_output = _run(
        "--rollback", app_label, target, "--backup-dir", str(tmp_path / "back"), *_org_args(seeded)
    )
    kept, during = {}, {}
    for org in seeded:
        still_there = table_columns(org.schema_name)
        kept[org.slug] = {
            table: [name for name in names if name in still_there[table]]
            for table, names in columns[org.slug].items()
            if table in still_there
        }
        during[org.slug] = row_checksums(org.schema_name, kept[org.slug])
    forward_output = _run("--backup-dir", str(tmp_path / "forward"), *_org_args(seeded))

    assert "All 2 schemas verified at the target." in rollback_output
    assert "All 2 schemas verified at the target." in forward_output
    for org in seeded:
        after = row_checksums(org.schema_name, kept[org.slug])
        assert_rows_kept(
            columns[org.slug], kept[org.slug], before[org.slug], during[org.slug], after
        )
        assert without_bookkeeping(table_columns(org.schema_name)) == columns[org.slug]
    assert sum(map(len, before[seeded[0].slug].values())) > 100  # there was data to keep
    assert migration_check(org_slugs=[org.slug for org in seeded]).ok


def test_a_second_run_is_refused_while_one_holds_the_lock(orgs, tmp_path):
    _put_behind(orgs[0])
    other_session = connection.get_new_connection(connection.get_connection_params())
    other_session.autocommit = True
    try:
        other_session.execute("SELECT pg_advisory_lock(%s)", [LOCK_KEY])
        with pytest.raises(CommandError, match="Another safe_migrate is running"):
            _run("--backup-dir", str(tmp_path / "run"), "--org", orgs[0].slug)
    finally:
        other_session.close()

    assert not (tmp_path / "run").exists()
    assert not migration_check(org_slugs=[orgs[0].slug]).ok  # nothing was migrated


def test_not_enough_disk_space_is_refused(tmp_path):
    free = shutil.disk_usage(tmp_path).free

    with pytest.raises(MigrationSafetyError, match="Not enough disk space"):
        disk_space_check(tmp_path / "backups", free + 1)
    disk_space_check(tmp_path / "backups", 1024)  # a small dump fits


def test_pg_dump_and_pg_restore_match_the_server_major_version():
    server = server_major_version()
    for tool in ("pg_dump", "pg_restore"):
        version = subprocess.run(
            [str(postgres_tool(tool)), "--version"], capture_output=True, text=True
        ).stdout
        assert f") {server}." in version, version


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--org", "no-such-org"], "No organisation with slug: no-such-org"),
        (["--rollback", "no_such_app", "0001"], "App 'no_such_app' has no migrations."),
        (["--rollback", "crm", "9999"], "App 'crm' has no migration '9999'."),
        (["--parallel", "0"], "--parallel must be at least 1."),
        (["--restore", "/nonexistent/backup.dump"], "No backup file at /nonexistent/backup.dump"),
    ],
)
def test_bad_input_is_refused_with_a_message_and_changes_nothing(orgs, args, message, tmp_path):
    _put_behind(orgs[0])
    applied = _applied(orgs[0].schema_name)

    with pytest.raises(CommandError, match=message.replace(".", r"\.")):
        _run("--backup-dir", str(tmp_path / "b"), *args)

    assert _applied(orgs[0].schema_name) == applied
    assert not (tmp_path / "b").exists()


def test_restore_refuses_a_file_that_is_not_a_schema_backup(tmp_path):
    junk = Path(tmp_path / "junk.dump")
    junk.write_text("not a dump")

    with pytest.raises(CommandError, match="pg_restore failed"):
        _run("--restore", str(junk))


@pytest.mark.parametrize("rollback", [False, True])
def test_verify_reports_a_table_that_lost_rows_during_the_run(orgs, rollback):
    org = orgs[2]
    sessions = f"{connection.ops.quote_name(org.schema_name)}.django_session"
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {sessions} (session_key, session_data, expire_date) "
            "VALUES ('lost-in-migration', '', now())"
        )
    result = SchemaResult(org.schema_name, org.name, rows_before=table_row_counts(org.schema_name))
    with connection.cursor() as cursor:  # what a careless data migration might do
        cursor.execute(f"DELETE FROM {sessions} WHERE session_key = 'lost-in-migration'")

    schemas_verify([result], migration_targets(), rollback=rollback)

    message = "django_session: 1 row of 1 removed"
    if rollback:  # reversing a data migration may remove rows on purpose: reported only
        assert result.ok and result.notes[0].startswith(message)
    else:
        assert not result.ok and result.problems == [f"{message} by the migration"]


DELETING_MIGRATION = """
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("crm", "{parent}")]
    operations = [migrations.RunSQL("DELETE FROM crm_dealstagechange", migrations.RunSQL.noop)]
"""


@pytest.fixture
def row_deleting_migration(tmp_path, settings, monkeypatch):
    """A careless data migration after crm's own: it deletes every deal stage change.

    crm's migrations are copied, with it, into a package of their own that stands in for
    crm's (MIGRATION_MODULES) during the test, so the command loads it like any other.
    """
    name = "9999_delete_every_stage_change"
    package = crm_migrations_with(
        tmp_path, "crm_migrations_with_a_deleting_one", {name: DELETING_MIGRATION}
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    settings.MIGRATION_MODULES = {"crm": package}
    return name


def test_a_migration_that_deletes_rows_fails_the_run_naming_schema_and_table(
    seeded_org, row_deleting_migration, tmp_path
):
    stage_changes = f"{connection.ops.quote_name(seeded_org.schema_name)}.crm_dealstagechange"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {stage_changes}")
        (count,) = cursor.fetchone()
    assert count > 0  # the demo data has stage changes to lose

    out = StringIO()
    with pytest.raises(CommandError) as failure:
        call_command(
            "safe_migrate",
            "--backup-dir",
            str(tmp_path / "backups"),
            "--org",
            seeded_org.slug,
            "--no-progress",
            stdout=out,
            stderr=StringIO(),
        )

    # the counts were taken before migrating, by the command itself
    summary = out.getvalue()
    (line,) = [line for line in summary.splitlines() if line.startswith(seeded_org.schema_name)]
    assert line.endswith("FAILED")
    assert f"crm_dealstagechange: {count} rows of {count} removed by the migration" in summary
    backup = tmp_path / "backups" / f"{seeded_org.schema_name}.backup"
    assert "1 of 1 schemas failed verification." in str(failure.value)
    assert f"safe_migrate --restore {backup}" in str(failure.value)

    _run("--restore", str(backup))  # the remedy it prints puts every row back
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {stage_changes}")
        assert cursor.fetchone() == (count,)


def test_a_schema_whose_structure_drifted_is_reported_by_name(orgs):
    first, drifted, third = orgs
    schema = connection.ops.quote_name(drifted.schema_name)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = %s "
            "AND connamespace = %s::regnamespace",
            ["deal_amount_non_negative", drifted.schema_name],
        )
        (check,) = cursor.fetchone()
        # someone "fixed" production by hand, in one organisation only
        cursor.execute(f"ALTER TABLE {schema}.crm_account ADD COLUMN hotfix text")
        cursor.execute(f"ALTER TABLE {schema}.crm_deal DROP CONSTRAINT deal_amount_non_negative")
    try:
        out = StringIO()
        with pytest.raises(CommandError, match="1 of 3 schemas failed verification"):
            call_command("safe_migrate", "--check", *_org_args(orgs), stdout=out)

        run = migration_check(org_slugs=[org.slug for org in orgs])
        by_schema = {result.schema: result for result in run.results}
        assert by_schema[first.schema_name].ok and by_schema[third.schema_name].ok
        (problem,) = by_schema[drifted.schema_name].problems
        assert "crm_account: extra column hotfix text null" in problem
        assert "crm_deal: missing constraint deal_amount_non_negative: CHECK on (amount)" in problem
        assert "crm_account: extra column hotfix" in out.getvalue()
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"ALTER TABLE {schema}.crm_account DROP COLUMN IF EXISTS hotfix")
            cursor.execute(
                f"ALTER TABLE {schema}.crm_deal ADD CONSTRAINT deal_amount_non_negative {check}"
            )
    assert migration_check(org_slugs=[org.slug for org in orgs]).ok  # put back: no drift


@pytest.mark.parametrize("batch", [1, 2, 100])
def test_structures_read_many_schemas_per_query_keep_each_schema_its_own(orgs, batch):
    """Verification reads 100 schemas per catalog query (one catalog scan at 1,000
    organisations instead of 1,000): no line may land in another schema's structure."""
    schemas = [org.schema_name for org in orgs]
    drifted = connection.ops.quote_name(schemas[1])
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {drifted}.crm_account ADD COLUMN hotfix text")
    try:
        structures = dict(schema_structures(schemas, batch=batch))
        assert list(structures) == schemas
        hotfix = "column hotfix text null"
        assert [hotfix in structures[schema]["crm_account"] for schema in schemas] == [
            False,
            True,
            False,
        ]
        assert structures[schemas[0]] == structures[schemas[2]] == schema_structure(schemas[0])
        assert structures[schemas[1]] == schema_structure(schemas[1])
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"ALTER TABLE {drifted}.crm_account DROP COLUMN hotfix")
