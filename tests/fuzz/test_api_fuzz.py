"""Schemathesis against the live OpenAPI schema: every operation, generated valid and
invalid input, sent with an agent key and with a manager key. No input may cause a 500, and
every documented response must match the schema.

Failures are collected per operation (with a curl command to reproduce each) into
artifacts/fuzz-report.txt, and the test fails listing them. FUZZ_MAX_EXAMPLES sets the
examples per operation and mode (default 10: the whole run stays within a few minutes on
two cores).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

pytestmark = pytest.mark.services

MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "10"))
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]
REPORT = Path(__file__).resolve().parents[2] / "artifacts" / "fuzz-report.txt"


@pytest.fixture(scope="session")
def api_schema(live_api):
    return schemathesis.openapi.from_url(
        f"{live_api.base_url}/api/schema/?format=json",
        headers={"Host": live_api.host},
        timeout=60,
    )


def fuzz_operation(operation, mode: GenerationMode, live_api, session) -> list[str]:
    failures: list[str] = []

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
        report_multiple_bugs=False,
    )
    def run(case):
        for who, key in (("agent", live_api.agent_key), ("manager", live_api.manager_key)):
            try:
                case.call_and_validate(
                    base_url=live_api.base_url,
                    session=session,
                    headers=live_api.headers(key),
                    checks=CHECKS,
                    timeout=30,
                )
            except Exception as error:
                curl = case.as_curl_command(headers=live_api.headers(key))
                failures.append(f"[{who}] {str(error).strip()}\n    reproduce: {curl}")
                raise

    try:
        run()
    except Exception as error:
        if not failures:
            failures.append(f"{type(error).__name__}: {error}")
    return failures


def test_no_generated_request_breaks_the_api(api_schema, live_api):
    report: dict[str, list[str]] = {}
    operations = 0
    with requests.Session() as session:
        for result in api_schema.get_all_operations():
            operation = result.ok()
            operations += 1
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                failures = fuzz_operation(operation, mode, live_api, session)
                if failures:
                    report[f"{operation.method.upper()} {operation.path} ({mode})"] = failures
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(
        f"{operations} operations, {MAX_EXAMPLES} examples per operation and mode\n\n"
        + "\n\n".join(f"{name}\n" + "\n".join(lines) for name, lines in report.items())
    )
    assert operations >= 5
    assert not report, "\n\n".join(f"{name}\n{lines[0][:1500]}" for name, lines in report.items())


def test_the_schema_documents_the_bearer_key(api_schema):
    raw = api_schema.raw_schema
    assert raw["components"]["securitySchemes"]["ApiKey"]["scheme"] == "bearer"
