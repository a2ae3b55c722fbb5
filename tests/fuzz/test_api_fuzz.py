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
            if operation.path.endswith("/stream/"):
                continue  # an endless event stream: checked by test_the_event_stream_answers
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


# Inputs an attack found answering 500 (issue 20.8), sent as they were, on the live server.
EXPLICIT_BAD_CURSORS = ["cD1hYmM=", "cD0=", "bz14", "!!!", "cD05OTk5OTk5OTk5OTk5OTk5OTk5OTk5OQ=="]
EXPLICIT_NUL_URLS = [
    "/approvals/history/?account=%00",
    "/approvals/history/?decided_by=a%00b",
    "/approvals/history/?action_type=%00",
    "/personas/%00/",
    "/api/v1/clones/%00/persona/",
    "/api/v1/outcomes/?account=%00",
    "/api/v1/actions/?action_type=%00",
]


def test_explicit_malformed_inputs_are_refused_not_500(api_schema, live_api):
    list_paths = [
        path
        for path, operations in api_schema.raw_schema["paths"].items()
        if "get" in operations and "{" not in path and not path.endswith("/stream/")
    ]
    failures: list[str] = []
    with requests.Session() as session:
        session.headers.update(live_api.headers(live_api.manager_key))
        for path in list_paths:
            plain = session.get(f"{live_api.base_url}{path}", timeout=30)
            json_page = plain.ok and plain.headers.get("Content-Type") == "application/json"
            paginated = json_page and "next" in plain.json()  # not the CSV/JSONL exports
            for cursor in EXPLICIT_BAD_CURSORS:
                response = session.get(
                    f"{live_api.base_url}{path}", params={"cursor": cursor}, timeout=30
                )
                if response.status_code >= 500 or (paginated and response.status_code != 400):
                    failures.append(f"{path}?cursor={cursor}: {response.status_code}")
        for url in EXPLICIT_NUL_URLS:
            response = session.get(f"{live_api.base_url}{url}", timeout=30, allow_redirects=False)
            if response.status_code >= 500:
                failures.append(f"{url}: {response.status_code}")
        agent = requests.post(
            f"{live_api.base_url}/api/v1/actions/",
            json={
                "external_id": "fuzz-nul-reason",
                "action_type": "discount_offer",
                "account": "acc-0",
                "discount_pct": "40",
            },
            headers=live_api.headers(live_api.agent_key),
            timeout=30,
        )
        assert agent.status_code in (200, 201), agent.text
        decision = session.post(
            f"{live_api.base_url}/api/v1/actions/{agent.json()['id']}/decision/",
            json={"decision": "reject", "reason": "too\x00risky"},
            timeout=30,
        )
        if decision.status_code != 400:
            failures.append(f"NUL in the reject reason: {decision.status_code}")
    assert failures == []


def test_the_event_stream_answers_and_refuses_bad_keys(live_api):
    url = f"{live_api.base_url}/api/v1/insights/stream/"
    with requests.get(
        url, headers=live_api.headers(live_api.agent_key), stream=True, timeout=30
    ) as response:
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith("text/event-stream")
        assert next(response.iter_lines()).startswith(b"retry:")
    for key in ["", "ll_00000000_forged", "not-a-key"]:
        headers = live_api.headers(key) if key else {"Host": live_api.host}
        assert requests.get(url, headers=headers, timeout=30).status_code in (401, 403)
