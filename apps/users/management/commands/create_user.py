from django.core.exceptions import ValidationError

from apps.tenancy.management.base import OrgCommand
from apps.users.models import User
from apps.users.roles import Role
from apps.users.services import user_create


class Command(OrgCommand):
    help = "Create a user in an organisation with a role."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=Role.values)
        parser.add_argument("--password", required=True)
        parser.add_argument("--manager", help="username of the user's manager")
        parser.add_argument("--email", default="")
        parser.add_argument("--team", default="")

    def handle_org(self, org, *, username, role, password, manager, email, team, **options):
        manager_user = None
        if manager:
            manager_user = User.objects.filter(username=manager).first()
            if manager_user is None:
                raise ValidationError({"manager": f"No user '{manager}' in {org.slug}."})
        user = user_create(
            username=username,
            role=role,
            password=password,
            email=email,
            team=team,
            manager=manager_user,
        )
        self.stdout.write(
            self.style.SUCCESS(f"Created {user.role} '{user.username}' in {org.slug}")
        )
