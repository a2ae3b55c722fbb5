"""Routing a request to its organisation by host, without a database query per request."""

from __future__ import annotations

import copy

from django.db.models.signals import post_delete, post_save
from django_tenants.middleware.main import TenantMainMiddleware

from apps.tenancy.lookups import LookupCache
from apps.tenancy.models import Domain, Organization

# Host name → organisation. 1,024 hosts: every organisation of a 1,000-organisation system.
tenants_by_host = LookupCache(max_entries=1024)

for _model in (Domain, Organization):
    post_save.connect(tenants_by_host.clear_now_and_on_commit, sender=_model, weak=False)
    post_delete.connect(tenants_by_host.clear_now_and_on_commit, sender=_model, weak=False)


class CachedTenantMiddleware(TenantMainMiddleware):
    """django-tenants' routing (host → domain → organisation → schema), with the domain
    lookup kept per process (``apps.tenancy.lookups``): a request on a known host sends no
    query to the public schema, and its first query sets only the organisation's path.

    The key is the exact host name the database was asked for, so a cached organisation
    only ever answers for that host. Unknown hosts are not cached (they answer 404 each
    time from the database). Each request gets its own copy of the organisation.
    """

    def get_tenant(self, domain_model, hostname):
        tenant = tenants_by_host.get(hostname)
        if tenant is None:
            generation = tenants_by_host.generation
            tenant = super().get_tenant(domain_model, hostname)
            tenants_by_host.put(hostname, tenant, generation)
        return copy.copy(tenant)
