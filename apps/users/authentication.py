from __future__ import annotations

from rest_framework import authentication, exceptions

from apps.users.models import ApiKey
from apps.users.roles import AGENT
from apps.users.services import api_key_authenticate


class AgentPrincipal:
    """Who the request is when an agent key authenticates it: the agent runtime itself."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    is_agent = True
    role = AGENT
    pk = None
    id = None

    def __init__(self, key: ApiKey):
        self.api_key = key
        self.username = f"agent:{key.name}"

    def __str__(self) -> str:
        return self.username

    def get_username(self) -> str:
        return self.username


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """``Authorization: Bearer <key>``. Agent keys act as the agent; personal keys as their user."""

    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        scheme, _, raw_key = header.partition(" ")
        if scheme.lower() != self.keyword.lower():
            return None
        raw_key = raw_key.strip()
        if not raw_key:
            raise exceptions.AuthenticationFailed("No API key given.")
        key = api_key_authenticate(raw_key)
        if key is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.")
        principal = AgentPrincipal(key) if key.is_agent_key else key.user
        return principal, key

    def authenticate_header(self, request) -> str:
        return self.keyword
