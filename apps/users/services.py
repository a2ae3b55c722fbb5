from __future__ import annotations

import copy
import hashlib
import re
import secrets
from datetime import timedelta
from typing import TypedDict, Unpack

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from apps.tenancy.lookups import LookupCache
from apps.users.models import ApiKey, User
from apps.users.roles import Role

KEY_PREFIX = "ll"
_PREFIX = re.compile(r"[0-9a-f]{8}")  # secrets.token_hex(4), as api_key_create makes it
LAST_USED_RESOLUTION = timedelta(minutes=1)


class Profile(TypedDict, total=False):
    """What a user may be given besides name, role and password; each has a blank default."""

    email: str
    first_name: str
    last_name: str
    manager: User | None
    team: str


def user_create(
    *,
    username: str,
    role: str,
    password: str,
    check_password: bool = True,
    **profile: Unpack[Profile],
) -> User:
    if role not in Role.values:
        raise ValidationError({"role": f"Role must be one of: {', '.join(Role.values)}."})
    if User.objects.filter(username=username).exists():
        raise ValidationError({"username": f"User '{username}' already exists."})
    user = User(
        username=username,
        role=role,
        # Org admins edit goals, clones and policies in this organisation's Django admin.
        is_staff=role == Role.ADMIN,
        is_superuser=role == Role.ADMIN,
        **profile,
    )
    if check_password:
        validate_password(password, user)
    user.set_password(password)
    user.full_clean(exclude=["password"])
    user.save()
    return user


def _hash(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


def api_key_create(
    *, name: str, user: User | None = None, created_by: User | None = None
) -> tuple[ApiKey, str]:
    """Create a key; the raw key is returned once and never stored, logged or put in a cookie.

    ``created_by`` is the person who made it (None from the command line).
    """
    prefix = secrets.token_hex(4)
    raw_key = f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey.objects.create(
        name=name, prefix=prefix, hashed_key=_hash(raw_key), user=user, created_by=created_by
    )
    return key, raw_key


def api_key_delegated_by(key: ApiKey | None, *, acting_user: User | None) -> str:
    """Who created ``key``, when that is someone other than the person it acts as.

    A personal key made by an admin for someone else acts as that person; the audit trail
    records "via key created by <creator>" so the decision is not silently theirs alone.
    """
    if key is None or key.created_by_id is None or acting_user is None:
        return ""
    if key.created_by_id == getattr(acting_user, "pk", None):
        return ""
    return key.created_by.username


def api_key_revoke(*, key: ApiKey) -> ApiKey:
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
    return key


# (schema, SHA-256 of the key) → the active key with its person. Bounded: 4,096 keys.
# Cleared on any key or user change (apps.users.apps); see apps.tenancy.lookups for the
# staleness bound on other processes.
keys_by_hash = LookupCache(max_entries=4096)


def api_key_authenticate(raw_key: str) -> ApiKey | None:
    """The active key matching ``raw_key``, or None. Compared by hash only.

    Read through ``keys_by_hash``: a revoked key or deactivated person is refused on the
    next request of the process that saved the change, and within
    ``LOOKUP_CACHE_SECONDS`` on every other one. Each request gets its own copy.
    """
    parts = raw_key.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX or not _PREFIX.fullmatch(parts[1]):
        return None  # a forged prefix (a NUL, any length) never reaches the database
    hashed = _hash(raw_key)
    cache_key = (connection.schema_name, hashed)
    cached = keys_by_hash.get(cache_key)
    if cached is None:
        generation = keys_by_hash.generation
        cached = (
            ApiKey.objects.select_related("user", "created_by")
            .filter(prefix=parts[1], revoked_at__isnull=True)
            .first()
        )
        if cached is None or not secrets.compare_digest(cached.hashed_key, hashed):
            return None
        if cached.user is not None and not cached.user.is_active:
            return None
        keys_by_hash.put(cache_key, cached, generation)
    now = timezone.now()
    if cached.last_used_at is None or now - cached.last_used_at > LAST_USED_RESOLUTION:
        # Coarse on purpose: one write a minute per key, not one per request.
        ApiKey.objects.filter(pk=cached.pk).update(last_used_at=now)
        cached.last_used_at = now
    key = copy.copy(cached)
    for person in ("user", "created_by"):
        if getattr(cached, person) is not None:
            setattr(key, person, copy.copy(getattr(cached, person)))
    return key
