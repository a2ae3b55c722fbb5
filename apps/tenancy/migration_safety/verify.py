"""After a run: at the target, no rows lost, the structure the others share."""

from __future__ import annotations

from collections import Counter

from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django_tenants.utils import get_public_schema_name

from apps.tenancy.migration_safety.plan import SchemaResult, Target, schema_plan, schemas_in_scope
from apps.tenancy.migration_safety.stats import (
    schema_structures,
    schema_tables,
    structure_differences,
    table_row_counts,
)

# Tables whose row count a migration changes by design.
BOOKKEEPING_TABLES = {"django_migrations"}


def schemas_verify(
    results: list[SchemaResult], targets: list[Target], *, rollback: bool = False
) -> None:
    """Add a problem to each schema not at ``targets`` or with fewer rows in a table.

    A rollback may remove rows on purpose (the reverse of a data migration deletes what it
    seeded), so there fewer rows are reported as notes, not problems.
    """
    connection.set_schema_to_public()
    executor = MigrationExecutor(connection)
    tables = schema_tables([result.schema for result in results if result.rows_before])
    for result in results:
        left = schema_plan(executor, result.schema, targets)
        if left:
            listed = ", ".join(f"{step.app_label}.{step.name}" for step in left[:5])
            more = f" and {len(left) - 5} more" if len(left) > 5 else ""
            result.problems.append(
                f"not at the target: {len(left)} migration(s) still to run ({listed}{more})"
            )
        if result.rows_before:
            after = table_row_counts(result.schema, tables[result.schema])
            _compare_row_counts(result, after, rollback=rollback)
    _compare_structures(results, targets, executor)


# Organisations' schemas compared, at the least, for the structure check (others at the
# target are added when the run covers fewer).
STRUCTURE_QUORUM = 3


def _compare_structures(results: list[SchemaResult], targets: list[Target], executor) -> None:
    """Every organisation's schema has the structure most of them share (the reference).

    The organisations of the run that reached the target, topped up to ``STRUCTURE_QUORUM``
    with others at the same target, vote: the structure most share is the reference and
    each schema of the run that differs gets a problem naming the differences. Without a
    majority (two schemas, two structures) each differing schema is reported.
    """
    public = get_public_schema_name()
    checked = [r for r in results if r.schema != public and not r.error and not r.problems]
    # Each schema's structure as a key, keyed once; schemas migrated alike share one key and
    # one structure object, so memory holds each distinct structure once.
    keys: dict[str, frozenset] = {}
    distinct: dict[frozenset, dict[str, frozenset[str]]] = {}

    def read(schemas: list[str]) -> None:
        for schema, structure in schema_structures(schemas):
            keys[schema] = key = _structure_key(structure)
            distinct.setdefault(key, structure)

    read([result.schema for result in checked])
    if not keys:
        return
    if len(keys) < STRUCTURE_QUORUM:
        voters = []
        for schema, _ in schemas_in_scope():
            if len(keys) + len(voters) >= STRUCTURE_QUORUM:
                break
            if schema != public and schema not in keys:
                if not schema_plan(executor, schema, targets):
                    voters.append(schema)
        read(voters)  # one catalog scan for all of them
    (winner, most), *others = Counter(keys.values()).most_common()
    majority = not others or others[0][1] < most
    for result in checked:
        key = keys[result.schema]
        if majority:
            differences = (
                [] if key == winner else structure_differences(distinct[key], distinct[winner])
            )
        else:
            differences = [
                f"differs from {schema}"
                for schema, other in keys.items()
                if schema != result.schema and other != key
            ]
        if differences:
            shown = "; ".join(differences[:5])
            more = f" and {len(differences) - 5} more" if len(differences) > 5 else ""
            result.problems.append(
                f"structure differs from the other organisations' schemas: {shown}{more}"
            )


def _structure_key(structure: dict[str, frozenset[str]]) -> frozenset:
    return frozenset(structure.items())


def _compare_row_counts(result: SchemaResult, after: dict[str, int], *, rollback: bool) -> None:
    for table, before in sorted(result.rows_before.items()):
        if table in BOOKKEEPING_TABLES:
            continue
        if table not in after:
            if before:
                result.notes.append(
                    f"table {table} was dropped with {_rows(before)} (they are in the backup)"
                )
        elif after[table] < before:
            lost = f"{table}: {_rows(before - after[table])} of {before} removed"
            if rollback:
                result.notes.append(f"{lost} by the rollback (they are in the backup)")
            else:
                result.problems.append(f"{lost} by the migration")
        elif after[table] > before:
            result.notes.append(f"{table}: {_rows(after[table] - before)} added")


def _rows(count: int) -> str:
    return f"{count} row" if count == 1 else f"{count} rows"
