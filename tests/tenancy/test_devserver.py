"""`make run` end to end: embedded PostgreSQL, migrations, demo seed, web + worker + beat, Ctrl-C."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.e2e
def test_make_run_serves_the_demo_org_and_ctrl_c_stops_everything(tmp_path):
    port = _free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL", "TEST_DATABASE_NAME")
    }
    env.update(LL_DATA_DIR=str(tmp_path / "data"), PORT=str(port), PYTHONUNBUFFERED="1")
    server = subprocess.Popen(
        [sys.executable, "-m", "ops.devserver"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    output: list[str] = []
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            line = server.stdout.readline()
            if not line:
                break
            output.append(line)
            if line.startswith("Press Ctrl-C"):
                break
        text = "".join(output)
        assert f"http://demo.localhost:{port}/" in text, text[-3000:]
        assert "manager    maria" in text
        # The logins come after the workers' start-up output, not scrolled away by it.
        assert "celery@" not in text.split("Demo logins")[-1]

        login = urllib.request.urlopen(
            urllib.request.Request(
                f"http://127.0.0.1:{port}/login/", headers={"Host": f"demo.localhost:{port}"}
            ),
            timeout=10,
        )
        assert login.status == 200 and b"Northwind Demo" in login.read()
        children = psutil.Process(server.pid).children(recursive=True)
        assert {"uvicorn", "worker", "beat"} <= {
            word
            for child in children
            for word in ("uvicorn", "worker", "beat")
            if word in " ".join(child.cmdline())
        }
    finally:
        os.killpg(server.pid, signal.SIGINT)  # what Ctrl-C in the terminal does
        server.wait(timeout=60)
    rest = server.stdout.read()
    assert "Stopped." in rest
    assert "ERROR" not in rest and "PID file" not in rest  # a clean stop says nothing alarming
    leftovers = [
        p
        for p in psutil.process_iter(["cmdline"])
        if str(tmp_path) in " ".join(p.info["cmdline"] or [])
        or f"--port {port}" in " ".join(p.info["cmdline"] or [])
    ]
    assert leftovers == [], [p.info["cmdline"] for p in leftovers]
