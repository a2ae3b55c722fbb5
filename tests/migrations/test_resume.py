"""A safe_migrate run killed with SIGKILL halfway is carried on by running it again.

Real processes on real PostgreSQL: ``manage.py safe_migrate --parallel 2`` runs as a
subprocess over six organisations, loading the probe release (a cheap added column and
an index built concurrently, tests.migrations.probe). The test holds a ROW EXCLUSIVE
lock on ``crm_interaction`` in the last three organisations, as a long write transaction
would, so the run stops there deterministically: the first three are migrated, two are
backed up and stuck building their index concurrently (the invalid index is already
there), the last one is not started. Then the command is killed with SIGKILL and run
again the way an operator would, with the same arguments.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from apps.tenancy.migration_safety import RUN_APPLICATION_NAME, RunJournal
from apps.tenancy.models import Organization
from apps.tenancy.services import organization_create
from tests.database_url import database_url
from tests.migrations.probe import PROBE_INDEX, PROBE_MIGRATIONS, probe_migrations_write

ORGS = 6
DONE = 3  # organisations migrated before the kill
STUCK = 2  # backed up and building their index when killed (--parallel 2)


@pytest.fixture(scope="module")
def resume_orgs(django_db_setup, django_db_blocker) -> list[Organization]:
    """Six committed organisations of this module, dropped at its end."""
    with django_db_blocker.unblock():
        orgs = [
            organization_create(slug=f"res{os.getpid()}x{n}", name=f"Resume test {n}")
            for n in range(ORGS)
        ]
        connection.set_schema_to_public()
    yield sorted(orgs, key=lambda org: org.schema_name)
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        for org in orgs:
            org.delete(force_drop=True)


def _command(orgs: list[Organization], tmp_path: Path) -> tuple[list[str], dict[str, str]]:
    environment = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "DJANGO_SETTINGS_MODULE": "tests.migrations.probe_settings",
        "LL_PROBE_MIGRATIONS_DIR": str(tmp_path / "release"),
        "LL_DATA_DIR": str(tmp_path / "data"),  # the default backup directory is under it
    }
    arguments = [sys.executable, "manage.py", "safe_migrate", "--parallel", "2", "--no-progress"]
    arguments += [arg for org in orgs for arg in ("--org", org.slug)]
    return arguments, environment


def _journal(tmp_path: Path) -> list[dict]:
    files = list((tmp_path / "data" / "backups").glob("*/run.jsonl"))
    assert len(files) <= 1, files  # the second run carries on the first one's directory
    return RunJournal(files[0].parent).lines() if files else []


def _phases(journal: list[dict], phase: str) -> list[str]:
    return [entry["schema"] for entry in journal if entry["phase"] == phase]


def _index_state(schema: str) -> bool | None:
    """Is the probe index valid in ``schema`` (None: there is none)?"""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT idx.indisvalid FROM pg_index idx JOIN pg_class cls "
            "ON cls.oid = idx.indexrelid WHERE cls.relname = %s "
            "AND cls.relnamespace = %s::regnamespace",
            [PROBE_INDEX, schema],
        )
        row = cursor.fetchone()
    return row[0] if row else None


def _probe_records(schema: str) -> list[tuple[int, str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, name FROM {connection.ops.quote_name(schema)}.django_migrations "
            "WHERE app = 'crm' AND name = ANY(%s) ORDER BY name",
            [list(PROBE_MIGRATIONS)],
        )
        return cursor.fetchall()


def _run_sessions() -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            # This database's only: another run on the same server (a bench) is not this one.
            "SELECT pid FROM pg_stat_activity "
            "WHERE application_name LIKE %s AND datname = current_database()",
            [f"{RUN_APPLICATION_NAME} %"],
        )
        return [pid for (pid,) in cursor.fetchall()]


def _wait_for(condition, what: str, process: subprocess.Popen, timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert process.poll() is None, f"safe_migrate exited ({process.returncode}) before {what}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def test_a_run_killed_halfway_is_carried_on_where_it_stopped(resume_orgs, tmp_path):
    probe_migrations_write(tmp_path / "release")
    arguments, environment = _command(resume_orgs, tmp_path)
    schemas = [org.schema_name for org in resume_orgs]
    done, stuck, waiting = schemas[:DONE], schemas[DONE : DONE + STUCK], schemas[DONE + STUCK :]
    quote = connection.ops.quote_name
    blocker = connection.get_new_connection(connection.get_connection_params())
    blocker.autocommit = False
    for schema in stuck + waiting:  # a long write transaction in each of the last three
        blocker.execute(f"LOCK TABLE {quote(schema)}.crm_interaction IN ROW EXCLUSIVE MODE")
    first = subprocess.Popen(
        arguments, env=environment, cwd=settings.BASE_DIR, stdout=subprocess.DEVNULL
    )
    second = None
    try:
        _wait_for(
            lambda: (
                sorted(_phases(_journal(tmp_path), "migrated")) == done
                and all(_index_state(schema) is False for schema in stuck)
            ),
            "the first three migrated and two building their index",
            first,
        )
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
        killed_journal = _journal(tmp_path)
        backups = {
            entry["schema"]: Path(entry["backup"])
            for entry in killed_journal
            if entry["phase"] == "backed-up"
        }
        assert sorted(backups) == done + stuck
        backup_files = {schema: path.stat().st_mtime_ns for schema, path in backups.items()}
        records_before = {schema: _probe_records(schema) for schema in done}
        assert not _phases(killed_journal, "failed") and waiting[0] not in backups
        # the killed run's index builds still wait in the database, on the test's lock
        orphans = _run_sessions()
        assert len(orphans) >= STUCK

        second = subprocess.Popen(
            arguments,
            env=environment,
            cwd=settings.BASE_DIR,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        # holding the lock, the second run ends the sessions the killed one left
        _wait_for(
            lambda: not set(orphans) & set(_run_sessions()),
            "the killed run's sessions ended",
            second,
        )
    except BaseException:
        for process in (first, second):
            if process and process.poll() is None:
                process.kill()
        raise
    finally:
        blocker.rollback()  # the second run goes on past the stuck schemas
        blocker.close()
    output, _ = second.communicate(timeout=300)

    assert second.returncode == 0, output
    journal = _journal(tmp_path)
    resumed_from = backups[done[0]].parent
    assert (
        f"Resuming run {json.loads((resumed_from / 'run.json').read_text())['run']} "
        f"from {resumed_from}: {DONE} schema(s) it migrated are not migrated again, "
        f"{STUCK} backup(s) it took are reused, {ORGS - DONE} schema(s) to go."
    ) in output
    assert f"All {ORGS} schemas verified at the target." in output
    for schema in schemas:  # every schema migrated exactly once, backed up exactly once
        assert _phases(journal, "migrated").count(schema) == 1, schema
        assert _phases(journal, "backed-up").count(schema) == 1, schema
        assert _index_state(schema) is True, schema
        assert [name for _, name in _probe_records(schema)] == list(PROBE_MIGRATIONS)
    for schema in done:  # untouched by the second run
        assert _phases(journal, "migrating").count(schema) == 1
        assert _probe_records(schema) == records_before[schema]
        section = output.split(schema, 1)[1]
        assert section.split("\n", 1)[0].split() == ["0", "0.0s", "ok"]
        assert "migrated by the interrupted run" in section.split("\n")[1]
    # the stuck ones: their backups reused, the invalid index dropped and built again
    assert output.count(f"dropped {PROBE_INDEX}, left invalid by the interrupted run") == STUCK
    for schema, mtime in backup_files.items():
        assert backups[schema].stat().st_mtime_ns == mtime, f"{schema}'s backup was retaken"
    assert (resumed_from / f"{waiting[0]}.backup" / "manifest.json").is_file()
    assert not list(resumed_from.glob("*.partial"))
    assert journal[-1] == {"schema": "", "phase": "finished", "ok": True}
    assert not _run_sessions()
