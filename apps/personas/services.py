"""Writes for personas: saving settings as a new version, reverting."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from apps.agents.models import SLIDERS, Clone, RegionProfile
from apps.personas.models import PersonaVersion
from apps.users.models import User

CUSTOM_INSTRUCTIONS_MAX = 2000
_UNSET = object()


def persona_validate(
    *, sliders: dict[str, int], custom_instructions: str | None = None
) -> dict[str, list[str]]:
    """Field errors for slider values and instructions (empty when all is well)."""
    errors: dict[str, list[str]] = {}
    for slider, value in sliders.items():
        if slider not in SLIDERS:
            errors[slider] = ["Unknown slider."]
        elif isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100:
            errors[slider] = ["Must be a whole number from 0 to 100."]
    if custom_instructions is not None and len(custom_instructions) > CUSTOM_INSTRUCTIONS_MAX:
        errors["custom_instructions"] = [
            f"At most {CUSTOM_INSTRUCTIONS_MAX} characters (you have {len(custom_instructions)})."
        ]
    return errors


def _snapshot(clone: Clone, *, number: int, user: User | None, note: str, at=None):
    return PersonaVersion.objects.create(
        clone=clone,
        number=number,
        **{slider: getattr(clone, slider) for slider in SLIDERS},
        region=clone.region,
        custom_instructions=clone.custom_instructions,
        note=note,
        created_by=user,
        created_at=at or timezone.now(),
    )


def _latest_number(clone: Clone) -> int:
    return clone.versions.aggregate(latest=Max("number"))["latest"] or 0


@transaction.atomic
def persona_update(
    *,
    clone: Clone,
    user: User | None,
    sliders: dict[str, int] | None = None,
    region: RegionProfile | None | object = _UNSET,
    custom_instructions: str | None = None,
    note: str = "",
) -> tuple[PersonaVersion, bool]:
    """Change a clone's persona and keep the result as a new version.

    Returns (version, changed). Nothing changes and no version is added when the new
    settings equal the current ones. The clone's settings before its first edit are kept
    as version 1, so that the first change can be reverted too.
    """
    sliders = sliders or {}
    errors = persona_validate(sliders=sliders, custom_instructions=custom_instructions)
    if errors:
        raise ValidationError(errors)
    clone = Clone.objects.select_for_update(of=("self",)).select_related("region").get(pk=clone.pk)
    latest = _latest_number(clone)
    if latest == 0:
        _snapshot(clone, number=1, user=None, note="Initial settings", at=clone.created_at)
        latest = 1
    changed_fields = [
        slider for slider, value in sliders.items() if getattr(clone, slider) != value
    ]
    for slider in changed_fields:
        setattr(clone, slider, sliders[slider])
    if region is not _UNSET and region != clone.region:
        clone.region = region
        changed_fields.append("region")
    if custom_instructions is not None and custom_instructions != clone.custom_instructions:
        clone.custom_instructions = custom_instructions
        changed_fields.append("custom_instructions")
    if not changed_fields:
        return clone.versions.get(number=latest), False
    clone.save(update_fields=[*changed_fields, "updated_at"])
    version = _snapshot(clone, number=latest + 1, user=user, note=note)
    return version, True


def persona_revert(
    *, clone: Clone, version: PersonaVersion, user: User | None
) -> tuple[PersonaVersion, bool]:
    """Bring back the settings of an old version, as a new version (history stays intact).

    Returns (version, changed); nothing is added when those settings are already current.
    """
    if version.clone_id != clone.pk:
        raise ValidationError({"version": "This version belongs to another clone."})
    return persona_update(
        clone=clone,
        user=user,
        sliders={slider: getattr(version, slider) for slider in SLIDERS},
        region=version.region,
        custom_instructions=version.custom_instructions,
        note=f"Reverted to version {version.number}",
    )
