"""Access checks for API views and pages, all answered by ``roles.can``."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from rest_framework.permissions import BasePermission

from apps.users.roles import can


def HasCapability(*capabilities: str) -> type[BasePermission]:  # noqa: N802 - reads as a class
    """DRF permission: the caller's role has every one of ``capabilities``."""

    class _HasCapability(BasePermission):
        message = "Your role is not allowed to do this."

        def has_permission(self, request, view) -> bool:
            return all(can(request.user, capability) for capability in capabilities)

    _HasCapability.__name__ = f"HasCapability({', '.join(capabilities)})"
    return _HasCapability


class CapabilityPerAction:
    """Viewset mixin: ``capabilities`` maps an action (``list``, ``create``, an ``@action``'s
    name) to the capability it needs; ``"*"`` is the one every other action needs."""

    capabilities: dict[str, str]

    def get_permissions(self) -> list[BasePermission]:
        needed = self.capabilities.get(self.action, self.capabilities["*"])
        return [HasCapability(needed)()]


def capability_required(*capabilities: str) -> Callable:
    """Page decorator: log in first, then 403 unless the role has every capability."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not all(can(request.user, capability) for capability in capabilities):
                raise PermissionDenied("Your role is not allowed to open this page.")
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
