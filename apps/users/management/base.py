"""What the user commands share (``create_user``, ``create_api_key``)."""

from __future__ import annotations

from django.core.management.base import CommandError

from apps.tenancy.management.base import OrgCommand
from apps.tenancy.models import Organization
from apps.users.models import User


class UserCommand(OrgCommand):
    def user_named(self, org: Organization, username: str | None) -> User | None:
        """The organisation's user of that name (None for no name); an unknown one is the
        command's error."""
        if not username:
            return None
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user '{username}' in {org.slug}.")
        return user
