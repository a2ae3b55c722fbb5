"""A new organisation's schema is a copy of the migrated template schema, identical to a
schema migrated from scratch, and the template follows the code's migrations by itself.

The schemas here are committed (cloning and migrating are DDL, which the template's lock
and other connections must see), so the tests run outside the test transaction and drop
what they create.
"""

from __future__ import annotations

import datetime
import threading
from collections.abc import Iterator

import pytest
from django.db import connection, connections, transaction
from django.test import Client
from django_tenants.utils import tenant_context

from apps.outcomes.models import ActionType
from apps.tenancy.services import organization_create
from apps.tenancy.template_schema import (
    TEMPLATE_SCHEMA,
    schema_clone_from_template,
    schema_migrate_afresh,
    template_schema_ensure,
    template_schema_is_current,
)
from apps.users.services import api_key_create
from tests.factories.crm import AccountFactory

MIGRATED = "clonecheck_migrated"
CLONED = "clonecheck_cloned"

# Everything PostgreSQL knows about a schema's objects, one query per kind, with names
# relative to the schema. ``%(ns)s`` is the schema's oid.
CATALOG = {
    "tables": """
        SELECT relname, relkind, relpersistence, relowner::regrole::text, relacl::text,
               reloptions::text, relrowsecurity
          FROM pg_class WHERE relnamespace = %(ns)s AND relkind NOT IN ('i', 'S')""",
    # Position among the live columns: a migrated table keeps dropped columns' numbers.
    "columns": """
        SELECT c.relname, row_number() OVER (PARTITION BY c.oid ORDER BY a.attnum), a.attname,
               format_type(a.atttypid, a.atttypmod), a.attnotnull, a.attidentity,
               a.attgenerated, pg_get_expr(d.adbin, d.adrelid), a.attcollation, a.attstorage
          FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
          LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
         WHERE c.relnamespace = %(ns)s AND a.attnum > 0 AND NOT a.attisdropped
           AND c.relkind IN ('r', 'p', 'v', 'm', 'f')""",
    "indexes": """
        SELECT c.relname, pg_get_indexdef(i.indexrelid), i.indisprimary, i.indisunique,
               i.indisvalid, c.relowner::regrole::text
          FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
         WHERE c.relnamespace = %(ns)s""",
    "constraints": """
        SELECT r.relname, k.conname, k.contype, pg_get_constraintdef(k.oid), k.condeferrable,
               k.condeferred, k.convalidated, ix.relname
          FROM pg_constraint k LEFT JOIN pg_class r ON r.oid = k.conrelid
          LEFT JOIN pg_class ix ON ix.oid = k.conindid
         WHERE k.connamespace = %(ns)s""",
    "triggers": """
        SELECT c.relname, t.tgname, pg_get_triggerdef(t.oid), t.tgenabled
          FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
         WHERE c.relnamespace = %(ns)s AND NOT t.tgisinternal""",
    "functions": """
        SELECT proname, pg_get_function_identity_arguments(oid), pg_get_functiondef(oid)
          FROM pg_proc WHERE pronamespace = %(ns)s""",
    # Which column owns each sequence, and that the column is in this schema: a copied
    # default or identity still drawing from the template's sequence shows here.
    "sequences": """
        SELECT c.relname, s.seqtypid::regtype::text, s.seqstart, s.seqincrement, s.seqmax,
               s.seqmin, s.seqcache, s.seqcycle, o.relname, a.attname, d.deptype,
               o.relnamespace = %(ns)s
          FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid
          LEFT JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = c.oid
           AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
          LEFT JOIN pg_class o ON o.oid = d.refobjid
          LEFT JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
         WHERE c.relnamespace = %(ns)s""",
    # What each column default, check and index depends on, and whether it is in this
    # schema (a default calling the template's nextval() would point elsewhere).
    "dependencies": """
        SELECT d.classid::regclass::text, d.refclassid::regclass::text, d.deptype,
               coalesce(rc.relnamespace, rp.pronamespace) = %(ns)s,
               coalesce(rc.relname, rp.proname), count(*)
          FROM pg_depend d
          LEFT JOIN pg_class rc ON d.refclassid = 'pg_class'::regclass AND rc.oid = d.refobjid
          LEFT JOIN pg_proc rp ON d.refclassid = 'pg_proc'::regclass AND rp.oid = d.refobjid
          LEFT JOIN pg_attrdef ad ON d.classid = 'pg_attrdef'::regclass AND ad.oid = d.objid
          LEFT JOIN pg_constraint k ON d.classid = 'pg_constraint'::regclass AND k.oid = d.objid
          LEFT JOIN pg_trigger t ON d.classid = 'pg_trigger'::regclass AND t.oid = d.objid
          LEFT JOIN pg_class oc ON oc.oid = coalesce(ad.adrelid, k.conrelid, t.tgrelid)
         WHERE oc.relnamespace = %(ns)s AND d.deptype = 'n'
         GROUP BY 1, 2, 3, 4, 5""",
    "views": """
        SELECT relname, pg_get_viewdef(oid) FROM pg_class
         WHERE relnamespace = %(ns)s AND relkind IN ('v', 'm')""",
    "comments": """
        SELECT d.classoid::regclass::text, c.relname, d.objsubid, d.description
          FROM pg_description d LEFT JOIN pg_class c ON c.oid = d.objoid
         WHERE c.relnamespace = %(ns)s
            OR d.objoid IN (SELECT oid FROM pg_proc WHERE pronamespace = %(ns)s)
            OR d.objoid IN (SELECT oid FROM pg_constraint WHERE connamespace = %(ns)s)""",
    "types": "SELECT typname, typtype FROM pg_type WHERE typnamespace = %(ns)s",
}


def catalog(schema: str) -> dict[str, list]:
    """The schema's catalog and rows, sorted, with the schema's name taken out."""
    result: dict[str, list] = {}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT oid FROM pg_namespace WHERE nspname = %s", [schema])
        (namespace,) = cursor.fetchone()
        # Only this schema on the search path: its names print unqualified, others not.
        cursor.execute("SELECT set_config('search_path', %s, true)", [f'"{schema}"'])
        for kind, sql in CATALOG.items():
            cursor.execute(sql, {"ns": namespace})
            result[kind] = sorted(
                (tuple(_unqualified(value, schema) for value in row) for row in cursor.fetchall()),
                key=repr,
            )
        cursor.execute(
            "SELECT relname FROM pg_class WHERE relnamespace = %s AND relkind = 'S'", [namespace]
        )
        result["sequence positions"] = []
        for (sequence,) in sorted(cursor.fetchall()):
            cursor.execute(f'SELECT last_value, is_called FROM "{schema}"."{sequence}"')
            result["sequence positions"].append((sequence, *cursor.fetchone()))
        cursor.execute(
            "SELECT relname FROM pg_class WHERE relnamespace = %s AND relkind = 'r'", [namespace]
        )
        for (table,) in sorted(cursor.fetchall()):
            cursor.execute(f'SELECT * FROM "{schema}"."{table}"')
            # Seeded rows carry the time their migration ran; the template's are older.
            result[f"rows of {table}"] = sorted(
                (tuple(_timeless(value) for value in row) for row in cursor.fetchall()), key=repr
            )
        cursor.execute("SELECT set_config('search_path', 'public', true)")
    return result


def _unqualified(value, schema: str):
    if isinstance(value, str):
        return value.replace(f'"{schema}".', "").replace(f"{schema}.", "")
    return value


def _timeless(value):
    return "<time>" if isinstance(value, datetime.datetime) else value


def differences(cloned: dict[str, list], migrated: dict[str, list]) -> dict[str, tuple]:
    """Per kind, what only the clone has and what only the migrated schema has."""
    found = {}
    for kind in sorted(set(cloned) | set(migrated)):
        mine, theirs = cloned.get(kind, []), migrated.get(kind, [])
        if mine != theirs:
            found[kind] = (
                [row for row in mine if row not in theirs][:5],
                [row for row in theirs if row not in mine][:5],
            )
    return found


@pytest.fixture(scope="module")
def schemas(django_db_setup, django_db_blocker) -> Iterator[tuple[str, str]]:
    """A schema migrated from scratch and one cloned from the template, committed."""
    with django_db_blocker.unblock():
        template_schema_ensure()
        with connection.cursor() as cursor:
            cursor.execute(f"DROP SCHEMA IF EXISTS {CLONED} CASCADE")
        schema_migrate_afresh(MIGRATED)
        schema_clone_from_template(CLONED)
        yield CLONED, MIGRATED
        connection.set_schema_to_public()
        with connection.cursor() as cursor:
            cursor.execute(f"DROP SCHEMA {MIGRATED} CASCADE")
            cursor.execute(f"DROP SCHEMA {CLONED} CASCADE")


def test_a_cloned_schema_is_identical_to_a_migrated_one(schemas, django_db_blocker):
    cloned, migrated = schemas
    with django_db_blocker.unblock():
        cloned_catalog, migrated_catalog = catalog(cloned), catalog(migrated)

    assert differences(cloned_catalog, migrated_catalog) == {}
    # The comparison covered something of each kind the tenant migrations create.
    assert len(migrated_catalog["tables"]) >= 60
    assert any("USING gin" in index[1] for index in migrated_catalog["indexes"])
    assert any(" WHERE " in index[1] for index in migrated_catalog["indexes"])
    assert {row[2] for row in migrated_catalog["constraints"]} >= {"p", "u", "c", "f"}
    assert migrated_catalog["triggers"] and migrated_catalog["functions"]
    assert all(row[-1] for row in migrated_catalog["sequences"])  # owned in the schema
    seeded = {
        kind: len(rows)
        for kind, rows in migrated_catalog.items()
        if kind.startswith("rows of") and rows
    }
    assert {
        "rows of outcomes_actiontype",
        "rows of approvals_guardrailrule",
        "rows of approvals_approvalsettings",
        "rows of insights_insightsettings",
        "rows of reviews_rubric",
        "rows of feedback_feedbackaspect",
        "rows of personas_regionprofile",
        "rows of django_migrations",
        "rows of django_content_type",
        "rows of auth_permission",
    } <= set(seeded)


def test_the_comparison_notices_one_missing_index_or_seeded_row(schemas, django_db_blocker):
    """The comparison above fails for one index, one seeded row or one sequence position
    less. Also checked by hand once: leaving ``action_payload_gin`` out of the clone script
    and skipping the copy of ``approvals_guardrailrule``'s rows made
    ``test_a_cloned_schema_is_identical_to_a_migrated_one`` fail, naming both."""
    cloned, migrated = schemas
    with django_db_blocker.unblock(), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(f"DROP INDEX {cloned}.action_payload_gin")
            cursor.execute(
                f"DELETE FROM {cloned}.approvals_guardrailrule WHERE id = "
                f"(SELECT max(id) FROM {cloned}.approvals_guardrailrule)"
            )
            cursor.execute(f"ALTER TABLE {cloned}.crm_account ALTER COLUMN id RESTART WITH 1000")
        found = differences(catalog(cloned), catalog(migrated))
        transaction.set_rollback(True)

    assert set(found) == {"indexes", "rows of approvals_guardrailrule", "sequence positions"}
    assert found["indexes"][1][0][0] == "action_payload_gin"


def test_an_organisation_created_from_the_template_answers_and_numbers_rows_after_the_seeded_ones(
    django_db_setup, django_db_blocker
):
    with django_db_blocker.unblock():
        organization = organization_create(slug="clonecheck", name="Clone Check")
        try:
            with tenant_context(organization):
                seeded = set(ActionType.objects.values_list("id", flat=True))
                added = ActionType.objects.create(
                    code="clone_check", name="Clone check", window_hours=24, signal="meeting"
                )
                key = api_key_create(name="agent")[1]
                AccountFactory(external_id="acc-1")
            client = Client(HTTP_HOST="clonecheck.localhost", HTTP_AUTHORIZATION=f"Bearer {key}")
            recorded = client.post(
                "/api/v1/outcomes/",
                {
                    "external_id": "act-1",
                    "action_type": "email_sent",
                    "account": "acc-1",
                    "predicted_confidence": 0.7,
                    "output_text": "Hi Dana, two openings: Tuesday 10:00 or Wednesday 14:00?",
                },
                content_type="application/json",
            )
            assert recorded.status_code == 201, recorded.content
            fetched = client.get(f"/api/v1/outcomes/{recorded.json()['id']}/")
        finally:
            connection.set_schema_to_public()
            organization.delete(force_drop=True)

    assert seeded and added.id > max(seeded)
    assert fetched.status_code == 200
    assert fetched.json()["action_type"] == "email_sent"


def test_a_stale_template_is_rebuilt_once_when_two_processes_ask_at_the_same_time(
    django_db_setup, django_db_blocker
):
    """A template missing one migration (built by older code) is rebuilt by whichever
    caller takes the lock first; the other waits and finds it current."""
    with django_db_blocker.unblock():
        template_schema_ensure()
        with connection.cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {TEMPLATE_SCHEMA}.django_migrations "
                "WHERE app = 'outcomes' AND name = (SELECT max(name) FROM "
                f"{TEMPLATE_SCHEMA}.django_migrations WHERE app = 'outcomes')"
            )
            cursor.execute("SELECT oid FROM pg_namespace WHERE nspname = %s", [TEMPLATE_SCHEMA])
            (before,) = cursor.fetchone()
        assert not template_schema_is_current()

        rebuilt: list[bool] = []

        def ensure() -> None:
            try:
                rebuilt.append(template_schema_ensure())
            finally:
                connections.close_all()

        callers = [threading.Thread(target=ensure) for _ in range(2)]
        for caller in callers:
            caller.start()
        for caller in callers:
            caller.join()
        with connection.cursor() as cursor:
            cursor.execute("SELECT oid FROM pg_namespace WHERE nspname = %s", [TEMPLATE_SCHEMA])
            (after,) = cursor.fetchone()
        current = template_schema_is_current()

    assert sorted(rebuilt) == [False, True]
    assert current
    assert after != before
