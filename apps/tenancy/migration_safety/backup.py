"""Back up a schema before it changes; restore one or a whole backup directory.

Why not ``pg_dump --schema`` per schema: pg_dump reads the whole catalog whatever it
dumps (every relation, every type, all of ``pg_depend``), so with 1,000 organisations
(~400,000 relations) one schema's dump takes seconds and the backups of a run grow with
the square of the number of organisations (docs/MIGRATIONS.md has the figures).

So a backup is ``<schema>.backup/``: the schema's rows, table by table, with ``COPY ...
TO STDOUT (FORMAT binary)`` in one REPEATABLE READ snapshot, its sequences' values, and a
manifest; catalog queries only by the schema's own object ids. Its structure is a
``pg_dump --schema-only`` taken once per distinct structure in the run
(``structure-<fingerprint>/``, pre-data and post-data SQL): the organisations' schemas at
one migration share a structure, so a run over 1,000 of them dumps one, and a schema
changed by hand gets a dump of its own. Restoring creates the schema from that SQL (the
schema's name put in), copies the rows in, sets the sequences, then adds the indexes,
constraints and triggers, in one transaction.

Backups in pg_dump's custom format (``<schema>.dump``, from earlier releases) still restore.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from apps.tenancy.migration_safety.pg_tools import _run_tool
from apps.tenancy.migration_safety.plan import MigrationSafetyError

BACKUP_SUFFIX = ".backup"
MANIFEST = "manifest.json"


def backup_root() -> Path:
    """Where each run's backup directory goes unless ``--backup-dir`` says otherwise."""
    return Path(settings.DATA_DIR) / "backups"


def default_backup_dir() -> Path:
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    directory = backup_root() / stamp
    suffix = 1
    while directory.exists():
        suffix += 1
        directory = directory.with_name(f"{stamp}-{suffix}")
    return directory


def schema_backup(schema: str, directory: Path) -> Path:
    """Back up ``schema`` (structure and rows) to ``<directory>/<schema>.backup/``."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{schema}{BACKUP_SUFFIX}"
    # Written aside and renamed when complete: a backup cut short by a killed run is never
    # taken for one, and a leftover process of that run cannot write into this one.
    partial = directory / f"{schema}{BACKUP_SUFFIX}.{os.getpid()}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir()
    quote = connection.ops.quote_name
    connection.set_schema_to_public()  # names in the catalog text come out qualified alike
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            relations = _relations(cursor, schema)
            fingerprint = _structure_fingerprint(cursor, schema, relations)
            tables = []
            table_oids = relations["r"] + relations["p"]
            columns_of = _copyable_columns(cursor, [oid for oid, _ in table_oids])
            for number, (oid, table) in enumerate(table_oids):
                columns = columns_of.get(oid, [])
                file = f"{number:04d}.copy"
                listed = ", ".join(map(quote, columns))
                with (partial / file).open("wb") as output:
                    with cursor.cursor.copy(
                        f"COPY {quote(schema)}.{quote(table)} ({listed}) TO STDOUT (FORMAT binary)"
                    ) as copy:
                        for block in copy:
                            output.write(block)
                tables.append({"table": table, "columns": columns, "file": file})
            sequences = {}
            if relations["S"]:
                cursor.execute(
                    " UNION ALL ".join(
                        f"SELECT %s, last_value, is_called FROM {quote(schema)}.{quote(name)}"
                        for _, name in relations["S"]
                    ),
                    [name for _, name in relations["S"]],
                )
                sequences = {name: [value, called] for name, value, called in cursor.fetchall()}
    structure = _structure_dump(schema, fingerprint, directory)
    manifest = {
        "format": 1,
        "schema": schema,
        "structure": structure.name,
        "tables": tables,
        "sequences": sequences,
        "taken": timezone.now().isoformat(),
    }
    (partial / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")
    shutil.rmtree(path, ignore_errors=True)
    partial.rename(path)
    return path


def _relations(cursor, schema: str) -> dict[str, list[tuple[int, str]]]:
    """The schema's relations by kind: its one scan of pg_class (there is no index on
    relnamespace); every other catalog query goes by these ids."""
    cursor.execute(
        "SELECT oid, relname, relkind FROM pg_class WHERE relnamespace = %s::regnamespace "
        "ORDER BY relname",
        [schema],
    )
    relations: dict[str, list[tuple[int, str]]] = {kind: [] for kind in "rpSivmfcI"}
    for oid, name, kind in cursor.fetchall():
        relations.setdefault(kind, []).append((oid, name))
    return relations


def _copyable_columns(cursor, table_oids: list[int]) -> dict[int, list[str]]:
    cursor.execute(
        "SELECT attrelid, attname FROM pg_attribute WHERE attrelid = ANY(%s) AND attnum > 0 "
        "AND NOT attisdropped AND attgenerated = '' ORDER BY attrelid, attnum",
        [table_oids],
    )
    columns: dict[int, list[str]] = {}
    for oid, name in cursor.fetchall():
        columns.setdefault(oid, []).append(name)
    return columns


def _structure_fingerprint(cursor, schema: str, relations: dict) -> str:
    """A digest of everything a schema-only dump of ``schema`` holds, its name left out."""
    oids = [oid for kind in relations.values() for oid, _ in kind]
    cursor.execute(
        """
        SELECT 'relation ' || relname || ' ' || relkind::text || ' ' || relpersistence::text
        FROM pg_class WHERE oid = ANY(%(oids)s)
        UNION ALL
        SELECT 'column ' || cls.relname || ' ' || att.attnum || ' ' || att.attname || ' '
               || format_type(att.atttypid, att.atttypmod) || ' ' || att.attnotnull || ' '
               || att.attidentity::text || att.attgenerated::text || ' '
               || coalesce(pg_get_expr(def.adbin, def.adrelid), '')
        FROM pg_attribute att JOIN pg_class cls ON cls.oid = att.attrelid
        LEFT JOIN pg_attrdef def ON def.adrelid = att.attrelid AND def.adnum = att.attnum
        WHERE att.attrelid = ANY(%(oids)s) AND att.attnum > 0 AND NOT att.attisdropped
        UNION ALL
        SELECT 'constraint ' || conname || ' ' || pg_get_constraintdef(oid)
        FROM pg_constraint WHERE conrelid = ANY(%(oids)s)
        UNION ALL
        SELECT 'index ' || pg_get_indexdef(indexrelid) FROM pg_index
        WHERE indrelid = ANY(%(oids)s)
        UNION ALL
        SELECT 'trigger ' || pg_get_triggerdef(oid) FROM pg_trigger
        WHERE tgrelid = ANY(%(oids)s) AND NOT tgisinternal
        UNION ALL
        SELECT 'sequence ' || seqrelid::regclass::text || ' ' || seqtypid::regtype || ' '
               || seqstart || ' ' || seqincrement || ' ' || seqmin || ' ' || seqmax || ' '
               || seqcache || ' ' || seqcycle
        FROM pg_sequence WHERE seqrelid = ANY(%(oids)s)
        UNION ALL
        SELECT 'owned ' || objid::regclass::text || ' ' || refobjid::regclass::text || ' '
               || refobjsubid || ' ' || deptype::text
        FROM pg_depend WHERE classid = 'pg_class'::regclass AND objid = ANY(%(oids)s)
          AND refclassid = 'pg_class'::regclass AND deptype IN ('a', 'i')
        UNION ALL
        SELECT 'view ' || oid::regclass::text || ' ' || pg_get_viewdef(oid)
        FROM pg_class WHERE oid = ANY(%(oids)s) AND relkind IN ('v', 'm')
        UNION ALL
        SELECT 'function ' || pg_get_functiondef(oid) FROM pg_proc
        WHERE pronamespace = %(schema)s::regnamespace AND prokind IN ('f', 'p')
        UNION ALL
        SELECT 'type ' || typname || ' ' || typtype::text FROM pg_type
        WHERE oid IN (SELECT atttypid FROM pg_attribute WHERE attrelid = ANY(%(oids)s))
          AND typnamespace = %(schema)s::regnamespace AND typtype IN ('e', 'd', 'r')
        """,
        {"oids": oids, "schema": schema},
    )
    lines = sorted(_without_schema(line, schema) for (line,) in cursor.fetchall())
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()[:16]


def _schema_name_pattern(schema: str) -> re.Pattern:
    return re.compile(rf'(?<![\w$"]){re.escape(schema)}(?![\w$])|"{re.escape(schema)}"')


def _without_schema(text: str, schema: str) -> str:
    return _schema_name_pattern(schema).sub("<schema>", text)


def _structure_dump(schema: str, fingerprint: str, directory: Path) -> Path:
    """``structure-<fingerprint>/`` of the run: dumped from ``schema`` by the first worker
    that needs it (the others wait on its lock and reuse it)."""
    target = directory / f"structure-{fingerprint}"
    with (directory / f"structure-{fingerprint}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (target / "post-data.sql").is_file():
            return target
        partial = directory / f"structure-{fingerprint}.{os.getpid()}.partial"
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir()
        dump = partial / "schema.dump"
        _run_tool(
            "pg_dump", ["--format=custom", "--schema-only", f"--schema={schema}", f"--file={dump}"]
        )
        for section in ("pre-data", "post-data"):
            _run_tool(
                "pg_restore",
                [
                    f"--section={section}",
                    "--no-owner",
                    f"--file={partial / section}.sql",
                    str(dump),
                ],
            )
        (partial / "schema.txt").write_text(schema + "\n")
        dump.unlink()
        shutil.rmtree(target, ignore_errors=True)
        partial.rename(target)
    return target


def backup_schema_name(path: Path) -> str:
    """The schema a backup holds."""
    if path.is_dir() and (path / MANIFEST).is_file():
        return json.loads((path / MANIFEST).read_text())["schema"]
    if not path.exists():
        raise MigrationSafetyError(f"No backup file at {path}.")
    if path.is_dir():
        raise MigrationSafetyError(f"{path} is not a backup of a schema (no {MANIFEST}).")
    listing = _run_tool("pg_restore", ["--list", str(path)])
    schemas = re.findall(r"^\d+; \d+ \d+ SCHEMA - (\S+) ", listing, flags=re.MULTILINE)
    if len(schemas) != 1:
        raise MigrationSafetyError(f"{path} is not a backup of exactly one schema.")
    return schemas[0]


def backup_restore(path: Path) -> str:
    """Replace the schema held in ``path`` by the backup; returns the schema's name.

    The current schema is renamed aside first and dropped only once the restore has
    succeeded; on failure it is put back as it was.
    """
    schema = backup_schema_name(path)
    aside = f"{schema}__before_restore"[:63]
    quote = connection.ops.quote_name
    connection.set_schema_to_public()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [schema])
        existed = cursor.fetchone() is not None
        cursor.execute(f"DROP SCHEMA IF EXISTS {quote(aside)} CASCADE")
        if existed:
            cursor.execute(f"ALTER SCHEMA {quote(schema)} RENAME TO {quote(aside)}")
    try:
        if path.is_dir():
            _restore_backup_directory(path, schema)
        else:
            _restore_custom_dump(path, schema)
    except Exception:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP SCHEMA IF EXISTS {quote(schema)} CASCADE")
            if existed:
                cursor.execute(f"ALTER SCHEMA {quote(aside)} RENAME TO {quote(schema)}")
        raise
    with connection.cursor() as cursor:
        cursor.execute(f"DROP SCHEMA IF EXISTS {quote(aside)} CASCADE")
    return schema


def _restore_backup_directory(path: Path, schema: str) -> None:
    manifest = json.loads((path / MANIFEST).read_text())
    structure = path.parent / manifest["structure"]
    if not (structure / "post-data.sql").is_file():
        raise MigrationSafetyError(
            f"{path} needs {structure}, which is missing; keep a run's directory whole."
        )
    dumped_from = (structure / "schema.txt").read_text().strip()
    pattern = _schema_name_pattern(dumped_from)

    def sql(section: str) -> str:
        text = (structure / f"{section}.sql").read_text()
        # psql meta-commands (pg_dump's \restrict guard) are for psql; the SQL runs here
        text = "\n".join(line for line in text.splitlines() if not line.startswith("\\"))
        return pattern.sub(lambda _: quote(schema), text)

    quote = connection.ops.quote_name
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql("pre-data"))
            for table in manifest["tables"]:
                listed = ", ".join(map(quote, table["columns"]))
                with (
                    cursor.cursor.copy(
                        f"COPY {quote(schema)}.{quote(table['table'])} ({listed}) "
                        "FROM STDIN (FORMAT binary)"
                    ) as copy,
                    (path / table["file"]).open("rb") as rows,
                ):
                    while block := rows.read(1 << 20):
                        copy.write(block)
            for sequence, (last_value, is_called) in manifest["sequences"].items():
                cursor.execute(
                    "SELECT setval(%s, %s, %s)",
                    [f"{quote(schema)}.{quote(sequence)}", last_value, is_called],
                )
            cursor.execute(sql("post-data"))
    finally:
        connection.close()  # the dump's SQL set search_path for the session


def _restore_custom_dump(path: Path, schema: str) -> None:
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE SCHEMA {quote(schema)}")
    _run_tool(
        "pg_restore",
        [
            "--clean",
            "--if-exists",
            "--single-transaction",
            "--exit-on-error",
            "--no-owner",
            f"--dbname={connection.settings_dict['NAME']}",
            str(path),
        ],
    )


def backup_files(path: Path) -> list[Path]:
    """A backup, or every backup in a run's directory (public first)."""
    if path.is_dir() and not (path / MANIFEST).is_file():
        files = sorted(
            [*path.glob(f"*{BACKUP_SUFFIX}"), *path.glob("*.dump")],
            key=lambda p: (p.stem != "public", p.name),
        )
        if not files:
            raise MigrationSafetyError(f"No backups in {path}.")
        return files
    return [path]
