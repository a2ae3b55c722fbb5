from apps.users.management.base import UserCommand
from apps.users.services import api_key_create


class Command(UserCommand):
    help = (
        "Create an API key for an organisation and print it (alone on the last line). "
        "Without --user it is an agent key; with --user it acts as that user."
    )

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--name", required=True)
        parser.add_argument("--user", help="username the key acts as")

    def handle_org(self, org, *, name, user, **options):
        owner = self.user_named(org, user)
        key, raw_key = api_key_create(name=name, user=owner)
        kind = f"personal key of {owner.username}" if owner else "agent key"
        self.stdout.write(
            f"Created {kind} '{key.name}' in {org.slug}. Store it now; it is not shown again:"
        )
        self.stdout.write(raw_key)
