"""The API docs: operations grouped by area, each with a summary; the page has a language."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_every_operation_is_tagged_by_area_and_has_a_summary(org):
    response = Client(HTTP_HOST="acme.localhost").get("/api/schema/?format=json")
    schema = response.json()

    tags = {tag["name"] for tag in schema["tags"]}
    assert {"CRM", "Outcomes", "Approvals", "Insights"} <= tags
    operations = [
        (method, path, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if isinstance(operation, dict)
    ]
    assert all(len(operation["tags"]) == 1 for _, _, operation in operations)
    assert all(operation["tags"][0] in tags for _, _, operation in operations)
    assert all(operation.get("summary") for _, _, operation in operations)
    by_path = {(method, path): operation for method, path, operation in operations}
    assert by_path[("post", "/api/v1/outcomes/")]["tags"] == ["Outcomes"]
    assert by_path[("post", "/api/v1/actions/{id}/decision/")]["summary"] == (
        "Approve or reject a proposed action"
    )


def test_api_docs_page_declares_its_language_and_icon(org):
    html = Client(HTTP_HOST="acme.localhost").get("/api/docs/").content.decode()
    assert '<html lang="en">' in html
    assert "favicon.svg" in html


def test_favicon_answers_instead_of_a_404(org):
    response = Client(HTTP_HOST="acme.localhost").get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"].endswith("favicon.svg")


def test_bare_host_links_to_each_organisation_in_development(org, settings):
    settings.DEBUG = True
    html = Client(HTTP_HOST="localhost").get("/").content.decode()
    assert 'href="http://acme.localhost/"' in html
    assert 'href="http://globex.localhost/"' in html


def test_bare_host_names_no_organisation_in_production(org, settings):
    settings.DEBUG = False
    response = Client(HTTP_HOST="localhost").get("/")
    assert response.status_code == 200
    assert "acme.localhost" not in response.content.decode()
