"""Demo clones of the demo reps, for every seeder that needs them (personas tunes them)."""

from __future__ import annotations

from apps.agents.models import Clone
from apps.agents.services import clone_ensure

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


def demo_clones_ensure(ctx) -> list[Clone]:
    """The three demo clones (created if missing; another seeder may have made them)."""
    if not ctx.reps:
        return []
    return [
        clone_ensure(external_id=external_id, name=name, owner=ctx.reps[owner % len(ctx.reps)])[0]
        for external_id, name, owner, _, _ in DEMO_CLONES
    ]
