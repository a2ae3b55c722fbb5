"""Running the servers of `make run` and `make serve` side by side, and stopping them cleanly."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path


def port_free(host: str, port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex((host, port)) != 0


def celery_commands(settings) -> dict[str, list[str]]:
    """The Celery worker and beat, with the filesystem broker's folders made if needed."""
    for folder in ("queue", "control"):
        (settings.CELERY_BROKER_DIR / folder).mkdir(parents=True, exist_ok=True)
    celery = [sys.executable, "-m", "celery", "-A", "learning_site"]
    return {
        "worker": [*celery, "worker", "-l", "warning", "--concurrency", "2",
                   "-n", f"worker-{os.getpid()}@%h"],
        "beat": [*celery, "beat", "-l", "warning", "-s", settings.CELERY_BEAT_SCHEDULE_FILENAME],
    }  # fmt: skip


def _pump(name: str, process: subprocess.Popen) -> None:
    for line in process.stdout:
        sys.stdout.write(f"{name:>6} | {line}")
    sys.stdout.flush()


def supervise(
    commands: dict[str, list[str]],
    *,
    host: str,
    port: int,
    on_ready: Callable[[], None],
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> int:
    """Start every command, call ``on_ready`` once the web port answers, run until Ctrl-C
    (or until one of them dies), then stop them all. Returns the exit code."""
    processes: dict[str, subprocess.Popen] = {}
    for name, command in commands.items():
        # Own sessions: Ctrl-C reaches this process only, which then stops each one in turn.
        processes[name] = subprocess.Popen(
            command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, start_new_session=True,
        )  # fmt: skip
        threading.Thread(target=_pump, args=(name, processes[name]), daemon=True).start()

    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)

    for _ in range(300):
        if not port_free(host, port) or any(p.poll() is not None for p in processes.values()):
            break
        time.sleep(0.1)
    on_ready()

    exit_code = 0
    while not stopping:
        for name, process in processes.items():
            if process.poll() is not None:
                print(f"{name} exited with code {process.returncode}; stopping.", flush=True)
                stopping, exit_code = True, 1
                break
        time.sleep(0.3)

    print("\nStopping…", flush=True)
    for process in processes.values():
        if process.poll() is None:
            process.terminate()  # each server shuts its own children down (warm shutdown)
    deadline = time.time() + 15
    for process in processes.values():
        try:
            process.wait(timeout=max(0.1, deadline - time.time()))
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
    return exit_code
