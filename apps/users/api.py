"""Serializer fields for users (no endpoints: users are created by command or in the admin)."""

from __future__ import annotations

from rest_framework import serializers

from apps.users.models import User


class UserRef(serializers.SlugRelatedField):
    """A user referenced by username (``"owner": "rory"``); writable unless ``read_only``."""

    def __init__(self, **kwargs):
        if not kwargs.get("read_only"):
            kwargs.setdefault("queryset", User.objects.all())
        super().__init__(slug_field="username", **kwargs)
