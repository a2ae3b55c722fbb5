from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import schema_context

from apps.tenancy.services import organization_get
from apps.users.models import User
from apps.users.roles import Role
from apps.users.services import user_create


class Command(BaseCommand):
    help = "Create a user in an organisation with a role."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=Role.values)
        parser.add_argument("--password", required=True)
        parser.add_argument("--manager", help="username of the user's manager")
        parser.add_argument("--email", default="")
        parser.add_argument("--team", default="")

    def handle(self, *args, slug, username, role, password, manager, email, team, **options):
        try:
            org = organization_get(slug)
            with schema_context(org.schema_name):
                manager_user = None
                if manager:
                    manager_user = User.objects.filter(username=manager).first()
                    if manager_user is None:
                        raise ValidationError({"manager": f"No user '{manager}' in {slug}."})
                user = user_create(
                    username=username,
                    role=role,
                    password=password,
                    email=email,
                    team=team,
                    manager=manager_user,
                )
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from error
        self.stdout.write(self.style.SUCCESS(f"Created {user.role} '{user.username}' in {slug}"))
