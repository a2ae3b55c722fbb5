"""Production settings (DJANGO_ENV=production) pass Django's deployment checks."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {
        **os.environ,
        "DJANGO_ENV": "production",
        "ALLOWED_HOSTS": ".learning-loop.example",
        # The checks never connect; an unreachable server proves it.
        "DATABASE_URL": "postgresql://nobody@127.0.0.1:9/none",
        **env,
    }
    for inherited in ("DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE"):
        environment.pop(inherited, None)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def deploy_check() -> subprocess.CompletedProcess:
    return manage(
        "check", "--deploy", "--fail-level", "WARNING", SECRET_KEY=secrets.token_urlsafe(50)
    )


def test_the_deployment_checks_find_no_security_issue(deploy_check):
    security_issues = [
        line
        for line in deploy_check.stderr.splitlines() + deploy_check.stdout.splitlines()
        if line.startswith("?:") and "drf_spectacular" not in line
    ]
    assert security_issues == []


def test_the_deployment_checks_cover_cookies_hsts_and_https(deploy_check):
    # Each of these would appear as a security.W0xx warning if the setting were off.
    output = deploy_check.stdout + deploy_check.stderr
    for code in ("W004", "W008", "W012", "W016", "W018", "W009"):
        assert f"security.{code}" not in output


def test_production_refuses_to_start_without_a_secret_key():
    result = manage("check", SECRET_KEY="")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr
