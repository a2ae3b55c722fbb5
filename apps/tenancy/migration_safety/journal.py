"""A run's progress, kept next to its backups so that a killed run can be resumed.

``run.json`` says what the run is (its id, targets, scope); ``run.jsonl`` gets one line per
step of each schema, appended and flushed to disk by whichever process did the step (the
command or one of its forked workers):

- ``backed-up``: the schema's dump is complete (``backup`` names the file);
- ``migrating``: its rows were counted (``rows_before``) and its migrations started;
- ``migrated`` or ``failed``: the migrations ended;
- ``finished`` (no schema): the run verified every schema and printed its report.

A run without ``finished`` was interrupted. Running ``safe_migrate`` again (or with
``--resume``) carries it on: schemas already migrated are not touched again, backups
already taken are reused.
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from django.utils import timezone

from apps.tenancy.migration_safety.plan import MigrationSafetyError, Target

HEADER = "run.json"
JOURNAL = "run.jsonl"


@dataclass
class SchemaProgress:
    """Where one schema got to in a run, from its journal lines."""

    phase: str
    backup: Path | None = None
    rows_before: dict[str, int] = field(default_factory=dict)
    error: str = ""


class RunJournal:
    """The run-state files of one backup directory."""

    def __init__(self, directory: Path):
        self.directory = directory

    @classmethod
    def start(
        cls, directory: Path, *, targets: list[Target], scope: list[str] | None
    ) -> RunJournal:
        directory.mkdir(parents=True, exist_ok=True)
        journal = cls(directory)
        header = {
            "run": f"{timezone.now():%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}",
            "targets": [list(target) for target in targets],
            "scope": sorted(scope) if scope else None,
            "started": timezone.now().isoformat(),
            "pid": os.getpid(),
        }
        path = directory / HEADER
        path.write_text(json.dumps(header, indent=2) + "\n")
        (directory / JOURNAL).touch()
        return journal

    @property
    def exists(self) -> bool:
        return (self.directory / HEADER).is_file()

    @property
    def header(self) -> dict:
        try:
            return json.loads((self.directory / HEADER).read_text())
        except (OSError, ValueError) as error:
            raise MigrationSafetyError(
                f"{self.directory} holds no readable safe_migrate run ({error})."
            ) from error

    @property
    def run_id(self) -> str:
        return self.header["run"]

    def matches(self, *, targets: list[Target], scope: list[str] | None) -> bool:
        header = self.header
        return header["targets"] == [list(target) for target in targets] and header["scope"] == (
            sorted(scope) if scope else None
        )

    def record(self, schema: str, phase: str, **data) -> None:
        """Append one line and flush it to disk before going on."""
        line = json.dumps({"schema": schema, "phase": phase, **data}, default=str) + "\n"
        descriptor = os.open(self.directory / JOURNAL, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        try:
            os.write(descriptor, line.encode())
            os.fsync(descriptor)
        finally:
            os.close(descriptor)

    def lines(self) -> list[dict]:
        path = self.directory / JOURNAL
        if not path.is_file():
            return []
        entries = []
        for line in path.read_text().splitlines():
            try:
                entries.append(json.loads(line))
            except ValueError:  # the last line of a run killed while writing it
                continue
        return entries

    @property
    def finished(self) -> bool:
        return any(entry["phase"] == "finished" for entry in self.lines())

    def progress(self) -> dict[str, SchemaProgress]:
        """Per schema: its last phase, its backup and the rows counted before migrating."""
        schemas: dict[str, SchemaProgress] = {}
        for entry in self.lines():
            schema = entry.get("schema")
            if not schema:
                continue
            progress = schemas.setdefault(schema, SchemaProgress(entry["phase"]))
            progress.phase = entry["phase"]
            if entry.get("backup"):
                progress.backup = Path(entry["backup"])
            if "rows_before" in entry:
                progress.rows_before = entry["rows_before"]
            progress.error = entry.get("error", "")
        return schemas


def unfinished_run(root: Path) -> RunJournal | None:
    """The latest run under ``root`` (one directory per run) that did not finish."""
    if not root.is_dir():
        return None
    runs = sorted(
        (RunJournal(path.parent) for path in root.glob(f"*/{HEADER}")),
        key=lambda journal: (journal.directory / HEADER).stat().st_mtime,
        reverse=True,
    )
    for journal in runs:
        return None if journal.finished else journal
    return None
