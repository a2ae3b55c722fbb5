"""The API's own surface: OpenAPI schema, offline Swagger UI, session auth with CSRF, static htmx."""

from django_tenants.utils import schema_context
from rest_framework.test import APIClient

from apps.crm.models import Account
from tests.conftest import ORG_HOST
from tests.factories.crm import AccountFactory


def test_openapi_schema_describes_the_v1_api(agent_api):
    response = agent_api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert "/api/v1/interactions/" in schema["paths"]
    assert "/api/v1/accounts/" in schema["paths"]


def test_swagger_ui_is_served_from_our_own_static_files(page_client, manager):
    page = page_client(manager).get("/api/docs/").content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
    assert "cdn" not in page.lower()
    assert (
        page_client()
        .get("/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")
        .status_code
        == 200
    )


def test_htmx_and_its_sse_extension_are_served_from_static(page_client):
    client = page_client()
    for path in ("/static/vendor/htmx-2.0.11.min.js", "/static/vendor/htmx-ext-sse-2.2.4.min.js"):
        response = client.get(path)
        assert response.status_code == 200
        assert b"htmx" in b"".join(response.streaming_content)


def test_every_page_sends_the_csrf_token_with_htmx_requests(page_client, manager):
    body = page_client(manager).get("/", follow=True).content.decode()
    assert 'hx-headers=\'{"x-csrftoken": "' in body


def test_a_session_post_to_the_api_without_the_csrf_token_is_refused(org, manager):
    client = APIClient(HTTP_HOST=ORG_HOST, enforce_csrf_checks=True)
    client.force_login(manager)
    response = client.post("/api/v1/accounts/", {"external_id": "a-1", "name": "A"}, format="json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]
    assert not Account.objects.exists()


def test_rows_of_one_org_do_not_exist_in_anothers_schema(org, other_org):
    AccountFactory(external_id="acc-17")
    with schema_context(other_org.schema_name):
        assert not Account.objects.filter(external_id="acc-17").exists()
        assert Account.objects.count() == 0
