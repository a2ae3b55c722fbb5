"""Demo personas: three clones of the demo reps, each tuned a few times (versions)."""

from __future__ import annotations

from datetime import timedelta

from apps.personas.models import Clone, RegionProfile
from apps.personas.services import clone_ensure, persona_update

# external id, name, owner index in ctx.reps, region code, then the edits made over time
# (each edit becomes a version; the initial settings are version 1).
DEMO_CLONES = [
    (
        "demo-clone-1",
        "Rory's outreach clone",
        0,
        "us",
        [
            {"formal_casual": 70, "concise_detailed": 30},
            {"proactive_reactive": 20, "technical_business": 75},
        ],
    ),
    (
        "demo-clone-2",
        "Sam's enterprise clone",
        1,
        "dach",
        [{"formal_casual": 15, "concise_detailed": 75, "technical_business": 30}],
    ),
    (
        "demo-clone-3",
        "Rory's follow-up clone",
        0,
        "uk",
        [
            {"proactive_reactive": 30, "formal_casual": 60},
            {"concise_detailed": 20},
        ],
    ),
]
# How long ago each version went live: initial, first edit, second edit.
VERSION_AGES = [timedelta(days=90), timedelta(days=45), timedelta(days=15)]


def demo_clones_ensure(ctx) -> list[Clone]:
    """The three demo clones (created if missing; another seeder may have made them)."""
    if not ctx.reps:
        return []
    return [
        clone_ensure(external_id=external_id, name=name, owner=ctx.reps[owner % len(ctx.reps)])[0]
        for external_id, name, owner, _, _ in DEMO_CLONES
    ]


def planned_steps(ctx) -> int:
    return len(DEMO_CLONES)


def seed(ctx) -> None:
    clones = {clone.external_id: clone for clone in demo_clones_ensure(ctx)}
    regions = {region.code: region for region in RegionProfile.objects.all()}
    manager = next((user for user in ctx.users.values() if user.role == "manager"), None)
    for external_id, _, _, region_code, edits in DEMO_CLONES:
        clone = clones.get(external_id)
        if clone is None or clone.versions.exists():
            ctx.step()
            continue
        for index, sliders in enumerate(edits):
            persona_update(
                clone=clone,
                user=manager,
                sliders=sliders,
                region=regions.get(region_code) if index == 0 else clone.region,
                custom_instructions="Keep emails under 150 words." if index == 1 else None,
            )
            clone.refresh_from_db()
        for number, age in enumerate(VERSION_AGES, start=1):
            clone.versions.filter(number=number).update(created_at=ctx.now - age)
        ctx.step()
