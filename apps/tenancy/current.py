"""The organisation a request or job runs in, and its address for links in emails and chat."""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django_tenants.utils import get_public_schema_name

from apps.tenancy.models import Organization


def current_organization() -> Organization | None:
    """The organisation whose schema is active. Jobs and commands run inside
    ``schema_context`` with a stand-in tenant object: then it is looked up by schema."""
    tenant = getattr(connection, "tenant", None)
    if isinstance(tenant, Organization):
        return tenant
    schema = getattr(connection, "schema_name", None)
    if not schema or schema == get_public_schema_name():
        return None
    return Organization.objects.filter(schema_name=schema).first()


def site_url() -> str:
    """``scheme://host[:PUBLIC_PORT]`` of this organisation's primary domain ("" outside one).

    https in production; ``PUBLIC_PORT`` (set by ``make run`` to its port) when the public
    address is not on the scheme's default port."""
    organization = current_organization()
    domain = organization.get_primary_domain() if organization is not None else None
    if domain is None:
        return ""
    scheme = "https" if settings.PRODUCTION else "http"
    port = getattr(settings, "PUBLIC_PORT", "")
    return f"{scheme}://{domain.domain}{':' + str(port) if port else ''}"
