"""What a schema holds: row counts, columns, row fingerprints, structure."""

from __future__ import annotations

from django.db import connection


def table_row_counts(schema: str) -> dict[str, int]:
    """Exact row count of every table in ``schema``: one UNION ALL query over its tables.

    (Not ``query_to_xml``: the embedded server is built without libxml.)
    """
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = %s AND table_type = 'BASE TABLE' ORDER BY table_name",
            [schema],
        )
        tables = [table for (table,) in cursor.fetchall()]
        if not tables:
            return {}
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
    """``table -> its columns, indexes, constraints and triggers``, each as one line of text.

    The text is PostgreSQL's own definition with the schema name taken out, so two schemas
    migrated alike give equal structures: a column as ``column name type null|not null
    default``, the rest as ``index|constraint|trigger name: definition``. A check
    constraint is named with its columns only: PostgreSQL prints the same expression in
    other words once a dump has been restored.
    """
    quote = connection.ops.quote_name
    prefixes = (f"{quote(schema)}.", f"{schema}.")
    structure: dict[str, set[str]] = {}

    def add(table: str, line: str) -> None:
        for prefix in prefixes:
            line = line.replace(prefix, "")
        structure.setdefault(table, set()).add(line)

    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT cls.relname, 'column ' || att.attname || ' '
                   || format_type(att.atttypid, att.atttypmod)
                   || CASE WHEN att.attnotnull THEN ' not null' ELSE ' null' END
                   || coalesce(' default ' || pg_get_expr(def.adbin, def.adrelid), '')
                   || CASE WHEN att.attidentity <> '' THEN ' identity' ELSE '' END
            FROM pg_attribute att
            JOIN pg_class cls ON cls.oid = att.attrelid
            JOIN pg_namespace ns ON ns.oid = cls.relnamespace
            LEFT JOIN pg_attrdef def ON def.adrelid = att.attrelid AND def.adnum = att.attnum
            WHERE ns.nspname = %(schema)s AND cls.relkind IN ('r', 'p')
              AND att.attnum > 0 AND NOT att.attisdropped
            UNION ALL
            SELECT tablename, 'index ' || indexname || ': ' || indexdef
            FROM pg_indexes WHERE schemaname = %(schema)s
            UNION ALL
            SELECT cls.relname, 'constraint ' || con.conname || ': ' || CASE
                WHEN con.contype = 'c' THEN 'CHECK on (' || array_to_string(ARRAY(
                    SELECT attname FROM pg_attribute
                    WHERE attrelid = con.conrelid AND attnum = ANY(con.conkey)
                    ORDER BY attnum), ', ') || ')'
                ELSE pg_get_constraintdef(con.oid) END
            FROM pg_constraint con
            JOIN pg_class cls ON cls.oid = con.conrelid
            JOIN pg_namespace ns ON ns.oid = cls.relnamespace
            WHERE ns.nspname = %(schema)s
            UNION ALL
            SELECT cls.relname, 'trigger ' || tg.tgname || ': ' || pg_get_triggerdef(tg.oid)
            FROM pg_trigger tg
            JOIN pg_class cls ON cls.oid = tg.tgrelid
            JOIN pg_namespace ns ON ns.oid = cls.relnamespace
            WHERE ns.nspname = %(schema)s AND NOT tg.tgisinternal
            """,
            {"schema": schema},
        )
        for table, line in cursor.fetchall():
            add(table, line)
    return {table: frozenset(lines) for table, lines in structure.items()}


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
