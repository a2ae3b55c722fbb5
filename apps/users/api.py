"""Serializer fields for users (no endpoints: users are created by command or in the admin)."""

from __future__ import annotations

from apps.users.models import User
from apps.web.api_fields import ModelRef


class UserRef(ModelRef):
    """A user referenced by username (``"owner": "rory"``)."""

    model = User
    key = "username"
