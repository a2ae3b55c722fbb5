from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import schema_context

from apps.tenancy.services import organization_get
from apps.users.models import User
from apps.users.services import api_key_create


class Command(BaseCommand):
    help = (
        "Create an API key for an organisation and print it (alone on the last line). "
        "Without --user it is an agent key; with --user it acts as that user."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--name", required=True)
        parser.add_argument("--user", help="username the key acts as")

    def handle(self, *args, slug, name, user, **options):
        try:
            org = organization_get(slug)
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from error
        with schema_context(org.schema_name):
            owner = None
            if user:
                owner = User.objects.filter(username=user).first()
                if owner is None:
                    raise CommandError(f"No user '{user}' in {slug}.")
            key, raw_key = api_key_create(name=name, user=owner)
        kind = f"personal key of {owner.username}" if owner else "agent key"
        self.stdout.write(
            f"Created {kind} '{key.name}' in {slug}. Store it now; it is not shown again:"
        )
        self.stdout.write(raw_key)
