from apps.users.management.base import UserCommand
from apps.users.roles import Role
from apps.users.services import user_create


class Command(UserCommand):
    help = "Create a user in an organisation with a role."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=Role.values)
        parser.add_argument("--password", required=True)
        parser.add_argument("--manager", help="username of the user's manager")
        parser.add_argument("--email", default="")
        parser.add_argument("--team", default="")

    def handle_org(self, org, *, manager, **options):
        fields = {name: options[name] for name in ("username", "role", "password", "email", "team")}
        user = user_create(manager=self.user_named(org, manager), **fields)
        self.stdout.write(
            self.style.SUCCESS(f"Created {user.role} '{user.username}' in {org.slug}")
        )
