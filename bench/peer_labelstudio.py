"""Label Studio 1.23.2 as the benchmark peer, reproducibly.

Installed with pip from PyPI into its own virtualenv (.data/peer/venv, never .venv), served by
gunicorn with 2 sync workers (its WSGI app, DEBUG off) against the machine's PostgreSQL in
database ll_peer_labelstudio. A user with a legacy API token, a text-classification project
and tasks are created through its own Django setup and REST API.

Equivalent operations timed: submit an annotation (POST /api/tasks/{id}/annotations/), get
one task (GET /api/tasks/{id}/), list 50 tasks (GET /api/tasks/?project=…&page_size=50).
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import requests

from bench.common import (
    DATA,
    PG_HOST,
    PG_PORT,
    PG_USER,
    ROOT,
    Server,
    Timing,
    database_ensure,
    free_port,
    measure,
)

PEER_DIR = DATA / "peer"
VENV = PEER_DIR / "venv"
DATABASE = "ll_peer_labelstudio"
LABEL_CONFIG = """<View>
  <Text name="text" value="$text"/>
  <Choices name="rating" toName="text" choice="single">
    <Choice value="good"/><Choice value="neutral"/><Choice value="bad"/>
  </Choices>
</View>"""
ANNOTATION = {
    "result": [
        {
            "from_name": "rating",
            "to_name": "text",
            "type": "choices",
            "value": {"choices": ["good"]},
        }
    ],
    "was_cancelled": False,
}


class LabelStudioUnavailable(Exception):
    pass


class LabelStudio:
    VERSION = "1.23.2"

    def __init__(self) -> None:
        self.python = VENV / "bin" / "python"
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.token = "bench" + secrets.token_hex(16)
        self.server: Server | None = None

    # --- install and configure ----------------------------------------------------------

    def install(self) -> None:
        if self._installed_version() == self.VERSION:
            return
        print(f"Installing Label Studio {self.VERSION} into {VENV} (once)…", flush=True)
        if not self.python.exists():
            subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        result = subprocess.run(
            [
                str(self.python),
                "-m",
                "pip",
                "install",
                "-q",
                f"label-studio=={self.VERSION}",
                "gunicorn",
            ],
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise LabelStudioUnavailable(
                "pip install label-studio failed: " + result.stderr.strip()[-800:]
            )

    def _installed_version(self) -> str | None:
        if not self.python.exists():
            return None
        result = subprocess.run(
            [str(self.python), "-c", "import label_studio; print(label_studio.__version__)"],
            capture_output=True,
            text=True,
        )
        return result.stdout.strip() or None

    @property
    def package_dir(self) -> Path:
        result = subprocess.run(
            [
                str(self.python),
                "-c",
                "import label_studio, os; print(os.path.dirname(label_studio.__file__))",
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        return Path(result.stdout.strip())

    def env(self) -> dict[str, str]:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("DJANGO_", "DATABASE_", "VIRTUAL_ENV"))
        }
        env.update(
            {
                "DJANGO_SETTINGS_MODULE": "core.settings.label_studio",
                "DJANGO_DB": "default",
                "POSTGRE_NAME": DATABASE,
                "POSTGRE_USER": PG_USER,
                "POSTGRE_PASSWORD": "",
                "POSTGRE_HOST": PG_HOST,
                "POSTGRE_PORT": PG_PORT,
                "LABEL_STUDIO_BASE_DATA_DIR": str(PEER_DIR / "data"),
                "LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN": "true",
                "DEBUG": "false",
                "LOG_LEVEL": "WARNING",
                "PATH": f"{VENV / 'bin'}:{os.environ.get('PATH', '')}",
            }
        )
        return env

    def manage(self, *args: str, stdin: str | None = None) -> str:
        result = subprocess.run(
            [str(self.python), "manage.py", *args],
            cwd=self.package_dir,
            env=self.env(),
            input=stdin,
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise LabelStudioUnavailable(
                f"manage.py {args[0]} failed: {(result.stderr or result.stdout).strip()[-1500:]}"
            )
        return result.stdout

    def configure(self) -> None:
        database_ensure(DATABASE, fresh=True)
        print("Migrating Label Studio's database…", flush=True)
        self.manage("migrate", "--noinput")
        self.manage(
            "shell",
            stdin=f"""
from organizations.models import Organization
from rest_framework.authtoken.models import Token
from users.models import User
user = User.objects.create_user(email="bench@example.com", password="bench-Password-42")
user.is_staff = user.is_superuser = True
user.save()
org = Organization.create_organization(
    created_by=user, title="Bench", legacy_api_tokens_enabled=True
)
user.active_organization = org
user.save(update_fields=["active_organization"])
Token.objects.filter(user=user).delete()
Token.objects.create(user=user, key="{self.token}")
""",
        )

    # --- serve ----------------------------------------------------------------------------

    def __enter__(self) -> LabelStudio:
        self.install()
        self.configure()
        self.server = Server(
            "label-studio",
            [
                str(self.python),
                "-m",
                "gunicorn",
                "core.wsgi:application",
                "--workers",
                "2",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--timeout",
                "120",
                "--log-level",
                "warning",
            ],
            env=self.env(),
            cwd=self.package_dir,
            log=ROOT / "artifacts" / "bench-labelstudio.log",
        )
        self.server.wait_until_up(f"{self.base}/health")
        return self

    def __exit__(self, *exc) -> None:
        if self.server is not None:
            self.server.stop()

    # --- the timed operations -----------------------------------------------------------

    def run(self, *, requests_per_operation: int) -> dict[str, Timing]:
        n, warmup = requests_per_operation, 5
        session = requests.Session()
        session.headers["Authorization"] = f"Token {self.token}"

        def call(method: str, path: str, **kwargs) -> requests.Response:
            return session.request(method, self.base + path, timeout=120, **kwargs)

        project = call(
            "POST", "/api/projects/", json={"title": "Bench", "label_config": LABEL_CONFIG}
        )
        if project.status_code != 201:
            raise LabelStudioUnavailable(
                f"create project: {project.status_code} {project.text[:300]}"
            )
        project_id = project.json()["id"]
        tasks = [
            {"data": {"text": f"Hi, following up on our conversation ({i})."}}
            for i in range(max(1000, n + warmup))
        ]
        imported = call("POST", f"/api/projects/{project_id}/import", json=tasks)
        if imported.status_code != 201:
            raise LabelStudioUnavailable(
                f"import tasks: {imported.status_code} {imported.text[:300]}"
            )
        task_ids: list[int] = []
        page = 1
        while len(task_ids) < len(tasks):
            body = call("GET", f"/api/tasks/?project={project_id}&page_size=500&page={page}").json()
            task_ids += [task["id"] for task in body["tasks"]]
            page += 1
        timings = [
            measure(
                "submit an annotation",
                lambda i: call("POST", f"/api/tasks/{task_ids[i]}/annotations/", json=ANNOTATION),
                count=n,
                warmup=warmup,
                note="(POST /api/tasks/{id}/annotations/)",
            ),
            measure(
                "get one task",
                lambda i: call("GET", f"/api/tasks/{task_ids[i % len(task_ids)]}/"),
                count=n,
                warmup=warmup,
                note="(GET /api/tasks/{id}/)",
            ),
            measure(
                "list 50 tasks",
                lambda i: call("GET", f"/api/tasks/?project={project_id}&page_size=50"),
                count=n,
                warmup=warmup,
                note="(GET /api/tasks/?project=…)",
            ),
        ]
        return {timing.label: timing for timing in timings}
