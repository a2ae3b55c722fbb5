"""Demo personas: three clones of the demo reps, each tuned a few times (versions)."""

from __future__ import annotations

from datetime import timedelta

from apps.agents.demo import DEMO_CLONES, demo_clones_ensure
from apps.agents.models import RegionProfile
from apps.personas.services import persona_update

# How long ago each version went live: initial, first edit, second edit.
VERSION_AGES = [timedelta(days=90), timedelta(days=45), timedelta(days=15)]


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
