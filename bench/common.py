"""Helpers shared by bench/run.py and the peer harnesses: servers, timing, the table."""

from __future__ import annotations

import os
import signal
import socket
import statistics
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / ".data"
PG_HOST = os.environ.get("BENCH_PG_HOST", "127.0.0.1")
PG_PORT = os.environ.get("BENCH_PG_PORT", "5432")
PG_USER = os.environ.get("BENCH_PG_USER", "postgres")


def database_url(name: str) -> str:
    return f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"


def database_ensure(name: str, *, fresh: bool = False) -> None:
    """Create database ``name`` on the machine's PostgreSQL (dropped first when ``fresh``)."""
    import psycopg

    with psycopg.connect(database_url("postgres"), autocommit=True) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [name]
        ).fetchone()
        if exists and fresh:
            connection.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            exists = None
        if not exists:
            connection.execute(f'CREATE DATABASE "{name}"')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """A server process in its own session, stopped with its whole process group."""

    def __init__(self, name: str, command: list[str], *, env: dict, cwd: Path, log: Path):
        self.name = name
        self.log_path = log
        log.parent.mkdir(parents=True, exist_ok=True)
        self._log = log.open("w")
        self.process = subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_until_up(self, url: str, headers: dict | None = None, seconds: float = 180) -> None:
        deadline = time.time() + seconds
        while time.time() < deadline:
            if self.process.poll() is not None:
                break
            try:
                if requests.get(url, headers=headers or {}, timeout=5).status_code < 500:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.5)
        self.stop()
        tail = self.log_path.read_text()[-3000:]
        raise RuntimeError(f"{self.name} did not start; log {self.log_path}:\n{tail}")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self._log.close()


@dataclass
class Timing:
    label: str
    samples_ms: list[float]
    note: str = ""
    # The floor (a bare view) timed alternately with this operation, so that its ratio to
    # the floor holds on a loaded machine, where load drifts between operations.
    floor_ms: list[float] | None = None

    @property
    def median(self) -> float:
        return statistics.median(self.samples_ms)

    @property
    def floor_ratio(self) -> float | None:
        if not self.floor_ms:
            return None
        return self.median / statistics.median(self.floor_ms)

    @property
    def p95(self) -> float:
        ordered = sorted(self.samples_ms)
        return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def measure(
    label: str,
    send: Callable[[int], requests.Response],
    *,
    count: int,
    warmup: int = 5,
    expect: tuple[int, ...] = (200, 201),
    note: str = "",
    floor: Callable[[], requests.Response] | None = None,
    rounds: int = 5,
) -> Timing:
    """Time ``send(i)`` for i in 0..count-1 after ``warmup`` untimed calls (indexes
    count..count+warmup-1, so one-shot resources are never reused). Every response must
    have an expected status, or the operation is reported as failing.

    With ``floor``, the calls are timed in ``rounds`` blocks, each followed by as many timed
    ``floor()`` calls (the ratio's denominator) after one untimed one: whatever the server
    still does for the operation after answering lands on that untimed call, not the floor.
    """
    for i in range(count, count + warmup):
        response = send(i)
        _expect(label, response, expect)
    samples: list[float] = []
    floors: list[float] = []
    block = -(-count // rounds) if floor is not None else count
    for first in range(0, count, block):
        for i in range(first, min(count, first + block)):
            samples.append(_timed(label, lambda i=i: send(i), expect))
        if floor is not None:
            _expect("floor", floor(), (200,))
            for _ in range(first, min(count, first + block)):
                floors.append(_timed("floor", floor, (200,)))
    return Timing(label, samples, note, floors or None)


def _timed(label: str, call: Callable[[], requests.Response], expect: tuple[int, ...]) -> float:
    started = time.perf_counter()
    response = call()
    elapsed = (time.perf_counter() - started) * 1000
    _expect(label, response, expect)
    return elapsed


def _expect(label: str, response: requests.Response, expect: tuple[int, ...]) -> None:
    if response.status_code not in expect:
        raise RuntimeError(
            f"{label}: {response.request.method} {response.url} answered "
            f"{response.status_code}: {response.text[:500]}"
        )


def print_table(title: str, rows: list[Timing | tuple[str, str]]) -> str:
    ratios = any(isinstance(row, Timing) and row.floor_ms for row in rows)
    extra = f" {'× floor':>7} |" if ratios else ""
    lines = [
        title,
        "",
        f"| {'operation':<46} | {'median ms':>9} | {'p95 ms':>8} | {'n':>4} |{extra}",
        f"|{'-' * 48}|{'-' * 11}|{'-' * 10}|{'-' * 6}|" + ("---------|" if ratios else ""),
    ]
    for row in rows:
        if isinstance(row, Timing):
            label = f"{row.label} {row.note}".strip()
            ratio = f" {row.floor_ratio:>6.2f}× |" if row.floor_ratio else f" {'':>7} |"
            lines.append(
                f"| {label:<46} | {row.median:>9.1f} | {row.p95:>8.1f} | {len(row.samples_ms):>4} |"
                + (ratio if ratios else "")
            )
        else:
            label, reason = row
            lines.append(
                f"| {label:<46} | {reason:>9} | {'':>8} | {'':>4} |"
                + (f" {'':>7} |" if ratios else "")
            )
    text = "\n".join(lines)
    print(text, flush=True)
    return text
