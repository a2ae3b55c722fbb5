"""Provisioning of organisations: schema, domains and the public tenant."""

from __future__ import annotations

import logging
import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django_tenants.utils import get_public_schema_name

from apps.tenancy.models import Domain, Organization
from apps.tenancy.template_schema import (
    TemplateUnsupported,
    schema_clone_from_template,
    template_schema_ensure,
)

logger = logging.getLogger(__name__)

SLUG_RE = re.compile(r"^[a-z][a-z0-9-]{1,40}$")


def schema_name_for(slug: str) -> str:
    return "org_" + slug.replace("-", "_")


def default_domain_for(slug: str) -> str:
    return f"{slug}.{settings.BASE_DOMAIN}"


def public_tenant_ensure() -> Organization:
    """The public schema's tenant row, routed from the bare base domain (operator admin)."""
    public, _ = Organization.objects.get_or_create(
        schema_name=get_public_schema_name(),
        defaults={"name": "Operator", "slug": "public"},
    )
    Domain.objects.get_or_create(
        domain=settings.BASE_DOMAIN, defaults={"tenant": public, "is_primary": True}
    )
    return public


def organization_create(*, slug: str, name: str, domain: str | None = None) -> Organization:
    """Create an organisation: its schema (a copy of the migrated template schema,
    ``apps.tenancy.template_schema``), ``<slug>.<base domain>`` and ``domain``."""
    if not SLUG_RE.match(slug) or slug == "public":
        raise ValidationError(
            {"slug": "Use 2-41 lower-case letters, digits or hyphens, starting with a letter."}
        )
    if Organization.objects.filter(slug=slug).exists():
        raise ValidationError({"slug": f"An organisation with slug '{slug}' already exists."})
    hosts = [default_domain_for(slug)] + ([domain] if domain else [])
    taken = Domain.objects.filter(domain__in=hosts).values_list("domain", flat=True)
    if taken:
        raise ValidationError({"domain": f"Host already in use: {', '.join(taken)}"})

    public_tenant_ensure()
    template_schema_ensure()
    # The row, the schema copied from the template and the domains in one transaction:
    # a failure leaves nothing behind.
    try:
        with transaction.atomic():
            org = Organization(schema_name=schema_name_for(slug), name=name, slug=slug)
            org.auto_create_schema = False
            org.save(verbosity=0)
            schema_clone_from_template(org.schema_name)
            _domains_create(org, hosts)
        return org
    except TemplateUnsupported as reason:
        logger.warning("Migrating the schema of %s instead of cloning it: %s", slug, reason)

    # Migrating the schema cannot share a transaction with the domain rows, so a failure
    # afterwards deletes the organisation again.
    org = Organization(schema_name=schema_name_for(slug), name=name, slug=slug)
    org.save(verbosity=0)
    try:
        with transaction.atomic():
            _domains_create(org, hosts)
    except Exception:
        org.delete(force_drop=True)
        raise
    return org


def _domains_create(org: Organization, hosts: list[str]) -> None:
    for index, host in enumerate(hosts):
        Domain.objects.create(domain=host, tenant=org, is_primary=index == 0)


def organization_get(slug: str) -> Organization:
    try:
        return Organization.objects.exclude(schema_name=get_public_schema_name()).get(slug=slug)
    except Organization.DoesNotExist:
        raise ValidationError({"slug": f"No organisation with slug '{slug}'."}) from None
