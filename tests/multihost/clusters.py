"""Real PostgreSQL servers and a real PgBouncer for the multi-host tests, started from the
machine's binaries in temporary directories.

The replica tests do not touch the machine's server configuration: they start a primary of
their own (``initdb`` allows replication connections from 127.0.0.1), copy the test database
into it with ``pg_dump``, and clone it with ``pg_basebackup -R -X stream`` into a streaming
replica on another port. PostgreSQL and PgBouncer refuse to run as root: as root, they run
as the ``postgres`` account.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg

PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_server_user() -> list[str]:
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


def _run(command: list[str], **kwargs) -> None:
    subprocess.run([*_as_server_user(), *command], check=True, capture_output=True, **kwargs)


def missing_tools() -> str:
    """Why these tests cannot run here, or '' when everything they need is installed."""
    needed = [PG_BIN / "initdb", PG_BIN / "pg_ctl", PG_BIN / "pg_basebackup", PG_BIN / "pg_dump"]
    missing = [str(path) for path in needed if not path.exists()]
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            missing.append("a 'postgres' account to run PostgreSQL as (running as root)")
    return ", ".join(missing)


@contextmanager
def work_directory() -> Iterator[Path]:
    """A temporary directory the server account may write in."""
    path = Path(tempfile.mkdtemp(prefix="ll-multihost-"))
    if os.geteuid() == 0:
        shutil.chown(path, "postgres")
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@dataclass
class Server:
    directory: Path
    port: int

    @property
    def log(self) -> Path:
        return self.directory / "server.log"

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def connect(self, database: str) -> psycopg.Connection:
        return psycopg.connect(self.url(database), autocommit=True)

    def start(self, *settings: str) -> None:
        options = " ".join(
            [f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1"]
            + [f"-c {setting}" for setting in settings]
        )
        _run(
            [str(PG_BIN / "pg_ctl"), "-D", str(self.directory / "data"), "-w", "-t", "60",
             "-l", str(self.log), "-o", options, "start"]
        )  # fmt: skip

    def stop(self) -> None:
        subprocess.run(
            [*_as_server_user(), str(PG_BIN / "pg_ctl"), "-D", str(self.directory / "data"),
             "-m", "immediate", "stop"],
            capture_output=True,
        )  # fmt: skip


@contextmanager
def primary_with_replica(source_url: str, database: str) -> Iterator[tuple[Server, Server]]:
    """A new primary holding a copy of ``database`` from ``source_url``, and its streaming
    replica; both stopped and deleted afterwards."""
    with work_directory() as root:
        primary = Server(root / "primary", free_port())
        replica = Server(root / "replica", free_port())
        for server in (primary, replica):
            server.directory.mkdir()
            if os.geteuid() == 0:
                shutil.chown(server.directory, "postgres")
        _run([str(PG_BIN / "initdb"), "-D", str(primary.directory / "data"), "-A", "trust",
              "-U", "postgres", "--no-sync"])  # fmt: skip
        primary.start()
        try:
            with primary.connect("postgres") as admin:
                admin.execute(f'CREATE DATABASE "{database}"')
            dump = subprocess.run(
                [str(PG_BIN / "pg_dump"), "--no-owner", "--dbname", source_url],
                check=True,
                capture_output=True,
            ).stdout
            subprocess.run(
                [str(PG_BIN / "psql"), "-q", "-v", "ON_ERROR_STOP=1", primary.url(database)],
                input=dump,
                check=True,
                capture_output=True,
            )
            _run([str(PG_BIN / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(primary.port),
                  "-U", "postgres", "-D", str(replica.directory / "data"), "-R", "-X", "stream",
                  "--checkpoint=fast"])  # fmt: skip
            # Every statement in the replica's log: the tests see which requests read there.
            replica.start("log_statement=all", "log_min_duration_statement=-1")
            try:
                yield primary, replica
            finally:
                replica.stop()
        finally:
            primary.stop()


def wait_until_replayed(primary: Server, replica: Server, database: str) -> None:
    """Until the replica has replayed everything the primary wrote so far."""
    with primary.connect(database) as source, replica.connect(database) as target:
        position = source.execute("SELECT pg_current_wal_lsn()").fetchone()[0]
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            replayed = target.execute(
                "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [position]
            ).fetchone()[0]
            if replayed:
                return
            time.sleep(0.05)
    raise TimeoutError("the replica did not catch up in 30 s")


@contextmanager
def pgbouncer(target_port: int, database: str, *, pool_mode: str, pool_size: int) -> Iterator[int]:
    """A PgBouncer on a free port in front of ``database`` on 127.0.0.1:``target_port``."""
    with work_directory() as root:
        port = free_port()
        config = root / "pgbouncer.ini"
        config.write_text(
            "[databases]\n"
            f"{database} = host=127.0.0.1 port={target_port} dbname={database}\n"
            "[pgbouncer]\n"
            f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
            "auth_type = trust\nadmin_users = postgres\n"
            f"auth_file = {root / 'users.txt'}\n"
            f"pool_mode = {pool_mode}\ndefault_pool_size = {pool_size}\n"
            "max_client_conn = 200\nignore_startup_parameters = extra_float_digits,options\n"
            f"logfile = {root / 'pgbouncer.log'}\n"
        )
        (root / "users.txt").write_text('"postgres" ""\n')
        process = subprocess.Popen(
            [*_as_server_user(), PGBOUNCER, str(config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 15
            while True:
                try:
                    psycopg.connect(
                        f"postgresql://postgres@127.0.0.1:{port}/{database}", connect_timeout=2
                    ).close()
                    break
                except psycopg.OperationalError:
                    if process.poll() is not None or time.monotonic() > deadline:
                        log = root / "pgbouncer.log"
                        raise RuntimeError(
                            "PgBouncer did not start: "
                            + (log.read_text() if log.exists() else "no log")
                        ) from None
                    time.sleep(0.1)
            yield port
        finally:
            process.terminate()
            process.wait(timeout=10)
