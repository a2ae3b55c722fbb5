"""Content Security Policy: our own scripts only, no third-party origin anywhere."""

import re

import pytest

from tests.conftest import ORG_HOST


def policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    directives = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


def inline_scripts(html: str) -> list[str]:
    return [
        tag
        for tag in re.findall(r"<script\b[^>]*>", html)
        if "src=" not in tag and 'type="application/json"' not in tag and "nonce=" not in tag
    ]


def test_pages_send_a_policy_that_allows_only_our_own_scripts(page_client):
    directives = policy(page_client().get("/login/"))
    assert directives["default-src"] == ["'self'"]
    assert directives["script-src"][0] == "'self'"
    assert "'unsafe-inline'" not in directives["script-src"]
    assert "'unsafe-eval'" not in directives["script-src"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["object-src"] == ["'none'"]
    assert "'unsafe-inline'" in directives["style-src"]


def test_no_directive_names_another_origin(page_client):
    header = page_client().get("/login/")["Content-Security-Policy"]
    assert "http:" not in header and "https:" not in header and "*" not in header


def test_api_responses_carry_the_policy_too(api_client, agent_key):
    assert "Content-Security-Policy" in api_client(agent_key).get("/api/v1/accounts/")


@pytest.mark.parametrize("path", ["/login/", "/api/docs/", "/admin/login/"])
def test_pages_have_no_inline_script_the_policy_would_block(page_client, path):
    response = page_client().get(path)
    assert response.status_code == 200
    assert inline_scripts(response.content.decode()) == []


def test_signed_in_pages_have_no_inline_script_the_policy_would_block(page_client, manager):
    response = page_client(manager).get("/", follow=True)
    assert response.status_code == 200
    assert inline_scripts(response.content.decode()) == []


def test_the_api_docs_load_their_script_from_our_own_host(page_client):
    html = page_client().get("/api/docs/").content.decode()
    sources = re.findall(r'<script[^>]*src="([^"]+)"', html)
    assert sources and all(src.startswith("/") for src in sources)


def test_a_host_of_another_org_gets_the_same_policy(page_client):
    assert (
        page_client().get("/login/")["Content-Security-Policy"]
        == page_client(host="globex.localhost").get("/login/")["Content-Security-Policy"]
    )
    assert ORG_HOST != "globex.localhost"


def test_only_the_form_autosubmit_handler_is_allowed_inline(page_client):
    import base64
    import hashlib

    handler = base64.b64encode(hashlib.sha256(b"this.form.submit()").digest()).decode()
    script_src = policy(page_client().get("/login/"))["script-src"]
    assert [v for v in script_src if v.startswith("'sha256-")] == [f"'sha256-{handler}'"]
