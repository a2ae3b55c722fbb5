"""Writes for the agent entities."""

from __future__ import annotations

from apps.agents.models import Clone, RegionProfile
from apps.users.models import User


def clone_ensure(
    *,
    external_id: str,
    name: str,
    owner: User,
    region: RegionProfile | None = None,
    **sliders: int,
) -> tuple[Clone, bool]:
    """Get the clone with this external id, or create it. Returns (clone, created)."""
    return Clone.objects.get_or_create(
        external_id=external_id,
        defaults={"name": name, "owner": owner, "region": region, **sliders},
    )
