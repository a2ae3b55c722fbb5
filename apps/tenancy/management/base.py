"""Bases of the management commands that call services.

``ServiceCommand``: a ``ValidationError`` a service raises is the command's error (its
messages on one line, exit status 1), never a traceback. ``OrgCommand``: a command on one
organisation's data, named by its slug (the first argument); ``handle_org`` runs in that
organisation's schema.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import schema_context

from apps.tenancy.models import Organization
from apps.tenancy.services import organization_get


class ServiceCommand(BaseCommand):
    def execute(self, *args, **options):
        try:
            return super().execute(*args, **options)
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from error


class OrgCommand(ServiceCommand):
    def add_arguments(self, parser):
        parser.add_argument("slug")

    def handle(self, *args, slug, **options):
        org = organization_get(slug)
        with schema_context(org.schema_name):
            return self.handle_org(org, **options)

    def handle_org(self, org: Organization, **options):
        raise NotImplementedError
