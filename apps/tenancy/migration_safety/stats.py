"""What a schema holds: row counts, columns, row fingerprints, structure."""

from __future__ import annotations

from collections.abc import Iterator

from django.db import connection


def schema_tables(schemas: list[str]) -> dict[str, list[str]]:
    """``schema -> its tables`` (by name) for each schema: one catalog scan for them all."""
    tables: dict[str, list[str]] = {schema: [] for schema in schemas}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT schemaname, tablename FROM pg_tables WHERE schemaname = ANY(%s) "
            "ORDER BY schemaname, tablename",
            [schemas],
        )
        for schema, table in cursor.fetchall():
            tables[schema].append(table)
    return tables


def table_row_counts(schema: str, tables: list[str] | None = None) -> dict[str, int]:
    """Exact row count of every table in ``schema`` (or of ``tables``, when the caller
    listed them already with ``schema_tables``): one UNION ALL query over its tables.

    (Not ``query_to_xml``: the embedded server is built without libxml.)
    """
    quote = connection.ops.quote_name
    if tables is None:
        tables = schema_tables([schema])[schema]
    if not tables:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            " UNION ALL ".join(
                f"SELECT %s, count(*) FROM {quote(schema)}.{quote(table)}" for table in tables
            ),
            tables,
        )
        return dict(cursor.fetchall())


def table_columns(schema: str, *, without_primary_key: bool = True) -> dict[str, list[str]]:
    """Column names of every table in ``schema``, in table order.

    The primary key is left out by default: a row that a data migration deletes and
    re-creates identically gets a new id, and anything that pointed at the old id shows
    up in the referencing table's foreign-key column instead.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT cls.relname, att.attname, bool_or(coalesce(idx.indisprimary, false))
            FROM pg_class cls
            JOIN pg_namespace ns ON ns.oid = cls.relnamespace
            JOIN pg_attribute att
              ON att.attrelid = cls.oid AND att.attnum > 0 AND NOT att.attisdropped
            LEFT JOIN pg_index idx
              ON idx.indrelid = cls.oid AND idx.indisprimary AND att.attnum = ANY(idx.indkey)
            WHERE ns.nspname = %s AND cls.relkind IN ('r', 'p')
            GROUP BY cls.relname, att.attname, att.attnum
            ORDER BY cls.relname, att.attnum
            """,
            [schema],
        )
        columns: dict[str, list[str]] = {}
        for table, column, is_primary_key in cursor.fetchall():
            columns.setdefault(table, [])
            if not (without_primary_key and is_primary_key):
                columns[table].append(column)
        return columns


def table_fingerprints(
    schema: str, columns: dict[str, list[str]] | None = None
) -> dict[str, tuple[int, str]]:
    """``table -> (row count, checksum of the rows)`` over ``columns`` (default: all but pk).

    The checksum is an md5 over the sorted md5s of each row's text, so it ignores row order
    and changes when any value of any row changes.
    """
    columns = table_columns(schema) if columns is None else columns
    quote = connection.ops.quote_name
    fingerprints: dict[str, tuple[int, str]] = {}
    with connection.cursor() as cursor:
        for table, names in sorted(columns.items()):
            row = f"md5(ROW({', '.join(map(quote, names))})::text)" if names else "''"
            cursor.execute(
                f"SELECT count(*), md5(coalesce(string_agg({row}, '' ORDER BY {row}), '')) "
                f"FROM {quote(schema)}.{quote(table)}"
            )
            count, checksum = cursor.fetchone()
            fingerprints[table] = (count, checksum)
    return fingerprints


def schema_structure(schema: str) -> dict[str, frozenset[str]]:
    """``table -> its columns, indexes, constraints and triggers`` of one schema."""
    return dict(schema_structures([schema]))[schema]


# Schemas read per catalog query: each query scans the catalog once, whatever the number of
# schemas it names (0.2 s for 1 or 100 schemas at 1,000 organisations), and holds every line
# of the batch in memory at once.
STRUCTURE_BATCH = 100


def schema_structures(
    schemas: list[str], *, batch: int = STRUCTURE_BATCH
) -> Iterator[tuple[str, dict[str, frozenset[str]]]]:
    """``(schema, table -> its columns, indexes, constraints and triggers)`` for each schema,
    in order, each item one line of text (no tables: an empty dict).

    The text is PostgreSQL's own definition with the schema name taken out, so two schemas
    migrated alike give equal structures: a column as ``column name type null|not null
    default``, the rest as ``index|constraint|trigger name: definition``. A check
    constraint is named with its columns only: PostgreSQL prints the same expression in
    other words once a dump has been restored.
    """
    for first in range(0, len(schemas), batch):
        names = schemas[first : first + batch]
        structures: dict[str, dict[str, set[str]]] = {schema: {} for schema in names}
        # The schema's name as the definitions write it, quoted or not, to take out.
        prefixes = {s: (f"{connection.ops.quote_name(s)}.", f"{s}.") for s in names}
        with connection.cursor() as cursor:
            cursor.execute(STRUCTURE_SQL, {"schemas": names})
            for schema, table, line in cursor.fetchall():
                quoted, bare = prefixes[schema]
                line = line.replace(quoted, "").replace(bare, "")
                structures[schema].setdefault(table, set()).add(line)
        for schema, tables in structures.items():
            yield schema, {table: frozenset(lines) for table, lines in tables.items()}


STRUCTURE_SQL = """
    SELECT ns.nspname, cls.relname, 'column ' || att.attname || ' '
           || format_type(att.atttypid, att.atttypmod)
           || CASE WHEN att.attnotnull THEN ' not null' ELSE ' null' END
           || coalesce(' default ' || pg_get_expr(def.adbin, def.adrelid), '')
           || CASE WHEN att.attidentity <> '' THEN ' identity' ELSE '' END
    FROM pg_attribute att
    JOIN pg_class cls ON cls.oid = att.attrelid
    JOIN pg_namespace ns ON ns.oid = cls.relnamespace
    LEFT JOIN pg_attrdef def ON def.adrelid = att.attrelid AND def.adnum = att.attnum
    WHERE ns.nspname = ANY(%(schemas)s) AND cls.relkind IN ('r', 'p')
      AND att.attnum > 0 AND NOT att.attisdropped
    UNION ALL
    SELECT schemaname, tablename, 'index ' || indexname || ': ' || indexdef
    FROM pg_indexes WHERE schemaname = ANY(%(schemas)s)
    UNION ALL
    SELECT ns.nspname, cls.relname, 'constraint ' || con.conname || ': ' || CASE
        WHEN con.contype = 'c' THEN 'CHECK on (' || array_to_string(ARRAY(
            SELECT attname FROM pg_attribute
            WHERE attrelid = con.conrelid AND attnum = ANY(con.conkey)
            ORDER BY attnum), ', ') || ')'
        ELSE pg_get_constraintdef(con.oid) END
    FROM pg_constraint con
    JOIN pg_class cls ON cls.oid = con.conrelid
    JOIN pg_namespace ns ON ns.oid = cls.relnamespace
    WHERE ns.nspname = ANY(%(schemas)s)
    UNION ALL
    SELECT ns.nspname, cls.relname, 'trigger ' || tg.tgname || ': ' || pg_get_triggerdef(tg.oid)
    FROM pg_trigger tg
    JOIN pg_class cls ON cls.oid = tg.tgrelid
    JOIN pg_namespace ns ON ns.oid = cls.relnamespace
    WHERE ns.nspname = ANY(%(schemas)s) AND NOT tg.tgisinternal
"""


def structure_differences(
    structure: dict[str, frozenset[str]], reference: dict[str, frozenset[str]]
) -> list[str]:
    """What ``structure`` lacks or has beyond ``reference``, one line each, table by table."""
    differences = []
    for table in sorted(structure.keys() | reference.keys()):
        if table not in structure:
            differences.append(f"table {table} is missing")
        elif table not in reference:
            differences.append(f"table {table} is not in the reference schema")
        else:
            differences += [
                f"{table}: missing {line}" for line in sorted(reference[table] - structure[table])
            ]
            differences += [
                f"{table}: extra {line}" for line in sorted(structure[table] - reference[table])
            ]
    return differences
