"""``{% if user|can:"actions.decide" %}``: show a link only to a role that may follow it
(the same ``apps.users.roles.can`` the views check). A template builtin."""

from __future__ import annotations

from django import template

from apps.users.roles import can as role_can

register = template.Library()


@register.filter
def can(user, capability: str) -> bool:
    return bool(user and getattr(user, "is_authenticated", False) and role_can(user, capability))
