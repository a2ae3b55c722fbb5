"""New organisations' schemas, cloned from a migrated template schema.

Running every tenant migration for a new organisation takes about 8 s and grows with each
migration. Instead one schema, ``tenant_template``, is migrated (its data migrations seed
action types, guardrail defaults, rubrics, content types...) and each new schema is a copy
of it: its tables, columns and defaults, identity sequences at the template's values,
constraints, indexes, functions, triggers and comments, and every row, ``django_migrations``
included, so nothing is migrated or faked afterwards.

The template is no organisation: it has no row in the tenants table, so no host routes to
it and nothing that iterates organisations (periodic jobs, ``safe_migrate``, the admin)
sees it. It is kept current lazily: ``template_schema_ensure`` compares its
``django_migrations`` with the code's migrations and rebuilds it from scratch when they
differ (after a deploy, the first new organisation pays for one full migration).

django-tenants can clone a base schema too (``TENANT_BASE_SCHEMA``), but its cloning
function gave unique constraints other names than Django's (``..._key`` instead of
``notice_once_per_kind``; a later ``RemoveConstraint`` would fail), integer identity
sequences as bigint and columns in another order, and took 0.75-1 s on a nearly empty
database. This module copies the catalog definitions as PostgreSQL prints them.
"""

from __future__ import annotations

import functools
import logging
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager

from django.core.management import call_command
from django.db import connection, transaction
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder

logger = logging.getLogger(__name__)

# Not a name an organisation can get (theirs start with ``org_``).
TEMPLATE_SCHEMA = "tenant_template"
# Rebuilt under this name, then renamed, so a clone never reads a half-built template.
_BUILDING_SCHEMA = "tenant_template_building"
# Rebuilding takes this advisory lock exclusively, cloning shares it.
LOCK_KEY = 7_451_204_914
# How long a caller waits for another's rebuild (migrating every app) before giving up.
LOCK_WAIT_SECONDS = 900
LOCK_POLL_SECONDS = 0.25


def _advisory_lock_wait(cursor, function: str) -> None:
    """Take ``function`` (a ``pg_try_advisory_*`` lock) on ``LOCK_KEY``, polling.

    A blocking ``pg_advisory_lock`` keeps its statement's snapshot open while it waits, and
    the rebuild's ``CREATE INDEX CONCURRENTLY`` waits for every older snapshot: the two
    would wait for each other. Short tries hold no snapshot between them.
    """
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    while True:
        cursor.execute(f"SELECT {function}(%s)", [LOCK_KEY])
        if cursor.fetchone()[0]:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"The template schema lock was busy for {LOCK_WAIT_SECONDS} s")
        time.sleep(LOCK_POLL_SECONDS)


class TemplateUnsupported(Exception):
    """The template holds objects this module does not copy (the caller migrates instead)."""


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@functools.cache
def code_migrations() -> frozenset[tuple[str, str]]:
    """Every migration of the code, as ``django_migrations`` records them in a tenant schema.

    A tenant schema records shared apps' migrations too (the router skips their
    operations), so a current schema holds exactly this set.
    """
    return frozenset(MigrationLoader(None, ignore_no_migrations=True).graph.nodes)


def applied_migrations(cursor, schema: str) -> frozenset[tuple[str, str]] | None:
    """The (app, name) of the migrations ``schema`` records; None without the table.

    Not ``MigrationRecorder.applied_migrations()``: its table check lists every table on the
    search path (0.15 s at 1,000 organisations); ``to_regclass`` finds one by its index.
    """
    table = f"{quote(schema)}.{quote(MigrationRecorder.Migration._meta.db_table)}"
    cursor.execute("SELECT to_regclass(%s)", [table])
    if cursor.fetchone()[0] is None:
        return None
    cursor.execute(f"SELECT app, name FROM {table}")
    return frozenset(cursor.fetchall())


def template_schema_is_current() -> bool:
    with connection.cursor() as cursor:
        return applied_migrations(cursor, TEMPLATE_SCHEMA) == code_migrations()


@contextmanager
def _rebuild_lock() -> Iterator[None]:
    """The exclusive lock, on a connection of its own: migrating closes the default one."""
    lock_connection = connection.get_new_connection(connection.get_connection_params())
    lock_connection.autocommit = True
    try:
        with lock_connection.cursor() as cursor:
            _advisory_lock_wait(cursor, "pg_try_advisory_lock")
        yield
    finally:
        lock_connection.close()  # ending the session releases the lock


def template_schema_ensure() -> bool:
    """Make the template match the code's migrations; True if it had to be (re)built.

    Two processes creating organisations at once do not race: the check is repeated under
    an advisory lock, and the second waits for the first's build instead of starting one.
    """
    if template_schema_is_current():
        return False
    with _rebuild_lock():
        if template_schema_is_current():
            return False
        _template_build()
    return True


def schema_migrate_afresh(schema: str) -> None:
    """(Re)create ``schema`` empty and run every tenant migration in it: the slow way that
    the template exists to avoid, and what a copy of the template must equal."""
    connection.set_schema_to_public()
    with connection.cursor() as cursor:
        cursor.execute(f"DROP SCHEMA IF EXISTS {quote(schema)} CASCADE")
        cursor.execute(f"CREATE SCHEMA {quote(schema)}")
    call_command(
        "migrate_schemas",
        tenant=True,
        schema_name=schema,
        executor="standard",
        interactive=False,
        verbosity=0,
    )
    connection.set_schema_to_public()


def _template_build() -> None:
    logger.info("Rebuilding the template schema %s (migrations changed)", TEMPLATE_SCHEMA)
    schema_migrate_afresh(_BUILDING_SCHEMA)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DROP SCHEMA IF EXISTS {quote(TEMPLATE_SCHEMA)} CASCADE")
        cursor.execute(f"ALTER SCHEMA {quote(_BUILDING_SCHEMA)} RENAME TO {quote(TEMPLATE_SCHEMA)}")
    _clone_script.cache_clear()


def schema_clone_from_template(schema: str) -> None:
    """Create ``schema`` as a copy of the current template, in the caller's transaction.

    Raises ``TemplateUnsupported`` if the template holds objects this module does not copy
    (a view, an enum type, a policy, ...), so the caller can migrate the schema instead.
    """
    with transaction.atomic(), connection.cursor() as cursor:
        _advisory_lock_wait(cursor, "pg_try_advisory_xact_lock_shared")
        if applied_migrations(cursor, TEMPLATE_SCHEMA) != code_migrations():
            raise TemplateUnsupported("the template schema is not current")
        cursor.execute(f"SELECT oid FROM pg_namespace WHERE nspname = '{TEMPLATE_SCHEMA}'")
        script = _clone_script(cursor.fetchone()[0])
        cursor.execute("SELECT current_setting('search_path')")
        (search_path,) = cursor.fetchone()
        cursor.execute(
            f"CREATE SCHEMA {quote(schema)}; "
            f"SET LOCAL search_path = {quote(schema)}; "
            "SET LOCAL check_function_bodies = off; " + script
        )
        cursor.execute("SELECT set_config('search_path', %s, true)", [search_path])


# The template's objects that the clone script does not copy. Each row names one.
_UNSUPPORTED_SQL = """
SELECT 'relation ' || relname || ' of kind ' || relkind::text FROM pg_class
 WHERE relnamespace = %(ns)s AND relkind NOT IN ('r', 'i', 'S')
UNION ALL
SELECT 'type ' || typname FROM pg_type t
 WHERE typnamespace = %(ns)s AND typrelid = 0
   AND NOT EXISTS (SELECT FROM pg_type e WHERE e.oid = t.typelem AND e.typrelid <> 0)
UNION ALL
SELECT 'inheritance of ' || c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
 WHERE c.relnamespace = %(ns)s
UNION ALL
SELECT 'policy ' || polname FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid
 WHERE c.relnamespace = %(ns)s
UNION ALL
SELECT 'rule ' || rulename FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class
 WHERE c.relnamespace = %(ns)s
UNION ALL
SELECT 'routine ' || proname FROM pg_proc WHERE pronamespace = %(ns)s AND prokind NOT IN ('f', 'p')
UNION ALL
SELECT 'expression using ' || p.proname FROM pg_depend d JOIN pg_proc p ON p.oid = d.refobjid
 WHERE d.refclassid = 'pg_proc'::regclass AND p.pronamespace = %(ns)s
   AND (d.classid = 'pg_constraint'::regclass
        OR d.classid = 'pg_attrdef'::regclass AND EXISTS (
          SELECT FROM pg_attrdef ad JOIN pg_attribute a ON a.attrelid = ad.adrelid AND a.attnum = ad.adnum
           WHERE ad.oid = d.objid AND a.attgenerated <> ''))
UNION ALL
SELECT 'statistics ' || stxname FROM pg_statistic_ext WHERE stxnamespace = %(ns)s
"""

# Sequences not owned by an identity column (``serial`` or explicit), created first so
# that column defaults calling nextval() find them.
_SEQUENCES_SQL = """
SELECT format('CREATE SEQUENCE %%I AS %%s START WITH %%s INCREMENT BY %%s MINVALUE %%s'
              ' MAXVALUE %%s CACHE %%s %%s;', c.relname, format_type(s.seqtypid, NULL),
              s.seqstart, s.seqincrement, s.seqmin, s.seqmax, s.seqcache,
              CASE WHEN s.seqcycle THEN 'CYCLE' ELSE 'NO CYCLE' END)
  FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid
 WHERE c.relnamespace = %(ns)s
   AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                     AND d.objid = c.oid AND d.deptype = 'i')
 ORDER BY c.relname
"""

_FUNCTIONS_SQL = """
SELECT pg_get_functiondef(p.oid) || ';' FROM pg_proc p
 WHERE p.pronamespace = %(ns)s AND p.prokind IN ('f', 'p') ORDER BY p.proname, p.oid
"""

# One CREATE TABLE per table. LIKE copies the columns in order (dropped ones left out)
# with type, collation, NOT NULL, storage, defaults, generation expressions, identity
# (sequence options included) and CHECK constraints as expression trees: printing a CHECK
# and parsing it again does not give the same tree back (``= ANY (ARRAY[...]::text[])``
# comes back with the casts moved), and safe_migrate compares organisations' constraint
# definitions. The primary key, unique and exclusion constraints follow under their
# own names (LIKE would name their indexes itself).
_TABLES_SQL = """
SELECT format('CREATE %%sTABLE %%I (LIKE %%I.%%I INCLUDING DEFAULTS INCLUDING CONSTRAINTS'
              ' INCLUDING IDENTITY INCLUDING GENERATED INCLUDING STORAGE INCLUDING COMPRESSION%%s)%%s;',
              CASE WHEN c.relpersistence = 'u' THEN 'UNLOGGED ' ELSE '' END,
              c.relname, n.nspname, c.relname,
              (SELECT string_agg(format(', CONSTRAINT %%I %%s', k.conname, pg_get_constraintdef(k.oid)),
                                 '' ORDER BY k.conname)
                 FROM pg_constraint k WHERE k.conrelid = c.oid AND k.contype IN ('p', 'u', 'x')),
              CASE WHEN c.reloptions IS NOT NULL
                   THEN ' WITH (' || array_to_string(c.reloptions, ', ') || ')' ELSE '' END),
       c.relname,
       (SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum) FROM pg_attribute a
         WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''),
       EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attidentity = 'a'),
       (SELECT array_agg(ARRAY[a.attname, sc.relname, format_type(s.seqtypid, NULL)]
                         ORDER BY a.attnum)
          FROM pg_attribute a
          JOIN pg_depend d ON d.refclassid = 'pg_class'::regclass AND d.refobjid = a.attrelid
           AND d.refobjsubid = a.attnum AND d.classid = 'pg_class'::regclass AND d.deptype = 'i'
          JOIN pg_class sc ON sc.oid = d.objid
          JOIN pg_sequence s ON s.seqrelid = d.objid
         WHERE a.attrelid = c.oid AND a.attidentity <> '')
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relnamespace = %(ns)s AND c.relkind = 'r'
 ORDER BY c.relname
"""

# LIKE copies a default as it is: one calling nextval() would still draw from the
# template's sequence. Defaults that use another object of the template (a sequence, a
# function) are set again from their text, which names the new schema's object.
_DEFAULTS_SQL = """
SELECT DISTINCT format('ALTER TABLE %%I ALTER COLUMN %%I SET DEFAULT %%s;', c.relname, a.attname,
                       pg_get_expr(ad.adbin, ad.adrelid))
  FROM pg_attrdef ad
  JOIN pg_class c ON c.oid = ad.adrelid
  JOIN pg_attribute a ON a.attrelid = ad.adrelid AND a.attnum = ad.adnum
  JOIN pg_depend d ON d.classid = 'pg_attrdef'::regclass AND d.objid = ad.oid
  LEFT JOIN pg_class rc ON d.refclassid = 'pg_class'::regclass AND rc.oid = d.refobjid
  LEFT JOIN pg_proc rp ON d.refclassid = 'pg_proc'::regclass AND rp.oid = d.refobjid
 WHERE c.relnamespace = %(ns)s AND a.attgenerated = ''
   AND (rc.relnamespace = %(ns)s AND rc.oid <> c.oid OR rp.pronamespace = %(ns)s)
"""

# Sequences' positions, so the next id follows the copied rows; then who owns each
# sequence that is not an identity's (an identity's belongs to its column already).
_SEQUENCE_STATE_SQL = """
SELECT format('SELECT setval(%%L, last_value, is_called) FROM %%I.%%I;',
              quote_ident(c.relname), n.nspname, c.relname)
       || coalesce((SELECT format(' ALTER SEQUENCE %%I OWNED BY %%I.%%I;', c.relname, o.relname, a.attname)
                      FROM pg_depend d
                      JOIN pg_class o ON o.oid = d.refobjid
                      JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
                     WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                       AND d.refclassid = 'pg_class'::regclass AND d.deptype = 'a'), '')
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relnamespace = %(ns)s AND c.relkind = 'S'
 ORDER BY c.relname
"""

# Foreign keys last, all of a table's in one statement.
_FOREIGN_KEYS_SQL = """
SELECT format('ALTER TABLE %%I %%s;', c.relname,
              string_agg(format('ADD CONSTRAINT %%I %%s', k.conname, pg_get_constraintdef(k.oid)),
                         ', ' ORDER BY k.conname))
  FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
 WHERE c.relnamespace = %(ns)s AND k.contype = 'f'
 GROUP BY c.relname ORDER BY c.relname
"""

# Indexes that no constraint created (those came with their constraint).
_INDEXES_SQL = """
SELECT pg_get_indexdef(i.indexrelid) || ';' FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
 WHERE c.relnamespace = %(ns)s
   AND NOT EXISTS (SELECT FROM pg_constraint k WHERE k.conindid = i.indexrelid
                     AND k.contype IN ('p', 'u', 'x') AND k.conrelid = i.indrelid)
 ORDER BY c.relname
"""

_TRIGGERS_SQL = """
SELECT pg_get_triggerdef(t.oid) || ';' FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
 WHERE c.relnamespace = %(ns)s AND NOT t.tgisinternal ORDER BY c.relname, t.tgname
"""

_COMMENTS_SQL = """
SELECT format('COMMENT ON %%s %%I%%s IS %%L;',
              CASE WHEN d.objsubid <> 0 THEN 'COLUMN'
                   WHEN c.relkind = 'i' THEN 'INDEX' WHEN c.relkind = 'S' THEN 'SEQUENCE'
                   ELSE 'TABLE' END,
              c.relname,
              CASE WHEN d.objsubid <> 0 THEN '.' || quote_ident(
                (SELECT attname FROM pg_attribute WHERE attrelid = c.oid AND attnum = d.objsubid))
                   ELSE '' END,
              d.description)
  FROM pg_description d JOIN pg_class c ON c.oid = d.objoid
 WHERE d.classoid = 'pg_class'::regclass AND c.relnamespace = %(ns)s
UNION ALL
SELECT format('COMMENT ON CONSTRAINT %%I ON %%I IS %%L;', k.conname, c.relname, d.description)
  FROM pg_description d JOIN pg_constraint k ON k.oid = d.objoid JOIN pg_class c ON c.oid = k.conrelid
 WHERE d.classoid = 'pg_constraint'::regclass AND k.connamespace = %(ns)s
UNION ALL
SELECT format('COMMENT ON TRIGGER %%I ON %%I IS %%L;', t.tgname, c.relname, d.description)
  FROM pg_description d JOIN pg_trigger t ON t.oid = d.objoid JOIN pg_class c ON c.oid = t.tgrelid
 WHERE d.classoid = 'pg_trigger'::regclass AND c.relnamespace = %(ns)s
UNION ALL
SELECT format('COMMENT ON FUNCTION %%I(%%s) IS %%L;', p.proname,
              pg_get_function_identity_arguments(p.oid), d.description)
  FROM pg_description d JOIN pg_proc p ON p.oid = d.objoid
 WHERE d.classoid = 'pg_proc'::regclass AND p.pronamespace = %(ns)s
"""


def object_name(name1: str, name2: str, label: str) -> str:
    """The name PostgreSQL gives an object it names itself (``makeObjectName``): LIKE
    names an identity's sequence ``<table>_<column>_seq``, cut to 63 bytes by shortening
    the longer part first. A template sequence named otherwise (its table was renamed) is
    renamed after the copy."""
    first, second = name1.encode(), name2.encode()
    room = 63 - len(label) - 2
    while len(first) + len(second) > room:
        if len(first) > len(second):
            first = first[:-1]
        else:
            second = second[:-1]
    clip = functools.partial(bytes.decode, errors="ignore")  # never half a character
    return f"{clip(first)}_{clip(second)}_{label}"


def _rows(cursor, sql: str, namespace: int) -> list[tuple]:
    cursor.execute(sql, {"ns": namespace})
    return cursor.fetchall()


def _unqualify(definition: str, pattern: str) -> str:
    """Take the template's schema off the one name PostgreSQL always qualifies."""
    # The template's name needs no quotes, so PostgreSQL prints it bare.
    result, count = re.subn(
        pattern.format(schema=re.escape(TEMPLATE_SCHEMA)), r"\1", definition, count=1
    )
    if not count:
        raise TemplateUnsupported(f"cannot rewrite: {definition[:200]}")
    return result


@functools.lru_cache(maxsize=4)
def _clone_script(namespace: int) -> str:
    """The statements that rebuild the template's contents in the first schema of the
    search path; cached per template (a rebuilt template has another oid).

    Definitions are read with only the template on the search path, so PostgreSQL prints
    the template's own names unqualified (and anything elsewhere qualified): run with the
    new schema on the search path, they name the new schema's objects. Index, trigger and
    function definitions qualify their table or name always; that one prefix is removed.
    """
    with transaction.atomic(), connection.cursor() as cursor:
        unsupported = [row[0] for row in _rows(cursor, _UNSUPPORTED_SQL, namespace)]
        if unsupported:
            raise TemplateUnsupported("; ".join(unsupported))
        cursor.execute("SELECT current_setting('search_path')")
        (search_path,) = cursor.fetchone()
        cursor.execute("SELECT set_config('search_path', %s, true)", [quote(TEMPLATE_SCHEMA)])
        template = quote(TEMPLATE_SCHEMA)
        statements = [row[0] for row in _rows(cursor, _SEQUENCES_SQL, namespace)]
        statements += [
            _unqualify(row[0], r"^(CREATE OR REPLACE (?:FUNCTION|PROCEDURE) ){schema}\.")
            for row in _rows(cursor, _FUNCTIONS_SQL, namespace)
        ]
        tables = _rows(cursor, _TABLES_SQL, namespace)
        statements += [create for create, *_ in tables]
        for _create, table, _columns, _always, identities in tables:
            for column, sequence, data_type in identities or []:
                named = object_name(table, column, "seq")
                if sequence != named:
                    statements.append(f"ALTER SEQUENCE {quote(named)} RENAME TO {quote(sequence)};")
                # LIKE makes every identity sequence bigint (PostgreSQL 15), keeping the
                # template's bounds: an integer column's sequence is integer again.
                if data_type != "bigint":
                    statements.append(f"ALTER SEQUENCE {quote(sequence)} AS {data_type};")
        statements += [row[0] for row in _rows(cursor, _DEFAULTS_SQL, namespace)]
        for _create, table, columns, always_identity, _identities in tables:
            overriding = " OVERRIDING SYSTEM VALUE" if always_identity else ""
            statements.append(
                f"INSERT INTO {quote(table)} ({columns}){overriding} "
                f"SELECT {columns} FROM {template}.{quote(table)};"
            )
        statements += [row[0] for row in _rows(cursor, _SEQUENCE_STATE_SQL, namespace)]
        statements += [row[0] for row in _rows(cursor, _FOREIGN_KEYS_SQL, namespace)]
        statements += [
            _unqualify(
                row[0],
                r'^(CREATE (?:UNIQUE )?INDEX (?:"(?:[^"]|"")*"|\S+) ON (?:ONLY )?){schema}\.',
            )
            for row in _rows(cursor, _INDEXES_SQL, namespace)
        ]
        statements += [
            _unqualify(row[0], r"^(CREATE (?:CONSTRAINT )?TRIGGER .*? ON ){schema}\.")
            for row in _rows(cursor, _TRIGGERS_SQL, namespace)
        ]
        statements += [row[0] for row in _rows(cursor, _COMMENTS_SQL, namespace)]
        cursor.execute("SELECT set_config('search_path', %s, true)", [search_path])
    return "\n".join(statements)
