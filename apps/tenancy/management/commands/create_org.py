from apps.tenancy.management.base import ServiceCommand
from apps.tenancy.services import organization_create


class Command(ServiceCommand):
    help = (
        "Create an organisation: its schema (a copy of the migrated template schema) and the "
        "host <slug>.<BASE_DOMAIN>."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--name", required=True)
        parser.add_argument("--domain", help="an extra host name routed to this organisation")

    def handle(self, *args, slug, name, domain, **options):
        org = organization_create(slug=slug, name=name, domain=domain)
        hosts = ", ".join(org.domains.order_by("-is_primary").values_list("domain", flat=True))
        self.stdout.write(
            self.style.SUCCESS(f"Created {org.name} (schema {org.schema_name}): {hosts}")
        )
