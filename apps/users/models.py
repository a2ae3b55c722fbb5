from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.contrib.sessions.base_session import AbstractBaseSession
from django.db import models
from django.db.models import Q

from apps.users.roles import Role


class User(AbstractUser):
    """A person in one organisation (users live in the organisation's schema).

    ``role`` decides what they may use (see ``apps.users.roles``); ``manager`` links a rep
    to the manager whose team they are in.
    """

    role = models.CharField(max_length=20, choices=Role.choices, default=Role.REP)
    team = models.CharField(max_length=100, blank=True)
    manager = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="reports"
    )
    time_zone = models.CharField(max_length=64, default="UTC")

    class Meta:
        ordering = ["username"]
        constraints = [
            models.CheckConstraint(condition=Q(role__in=Role.values), name="user_role_valid"),
        ]

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    @property
    def is_agent(self) -> bool:
        return False


class ApiKey(models.Model):
    """A bearer key for the REST API, stored as a SHA-256 hash.

    Without a user it is an agent key (acts as the agent runtime); with a user it acts as
    that user with their role. Revoked keys stop working at once. ``created_by`` is who
    made it (an admin may make a personal key for someone else; the audit trail says so).
    """

    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    hashed_key = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.CASCADE, related_name="api_keys"
    )
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_agent_key(self) -> bool:
        return self.user_id is None

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class UserSession(AbstractBaseSession):
    """A browser's session (``apps.users.sessions``), with the id of the user signed in on
    it as a column, so that a request reads its session and its user in one statement.
    Deleting a user deletes their sessions."""

    user = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )

    class Meta(AbstractBaseSession.Meta):
        db_table = "users_session"

    @classmethod
    def get_session_store_class(cls):
        from apps.users.sessions import SessionStore

        return SessionStore
