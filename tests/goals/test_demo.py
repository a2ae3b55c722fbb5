"""The demo seeders for goals and personas give realistic, idempotent data."""

from __future__ import annotations

import random

from django.utils import timezone

from apps.agents.models import Clone
from apps.demo.context import DemoContext
from apps.goals import demo as goals_demo
from apps.goals.models import Goal, PerformanceSnapshot
from apps.personas import demo as personas_demo
from apps.personas.models import PersonaVersion
from tests.factories.outcomes import OutcomeFactory
from tests.factories.users import UserFactory


def _ctx(org, users) -> DemoContext:
    return DemoContext(
        org=org,
        scale=1,
        now=timezone.now(),
        rng=random.Random(1),
        users={user.username: user for user in users},
    )


def test_demo_seeds_goals_of_every_type_clones_with_versions_and_is_idempotent(org, rep, manager):
    sam = UserFactory(username="sam", role="rep", first_name="Sam")
    OutcomeFactory.create_batch(3, occurred_at=timezone.now() - timezone.timedelta(days=40))
    ctx = _ctx(org, [rep, sam, manager])

    for _ in range(2):
        goals_demo.seed(ctx)
        personas_demo.seed(ctx)

    assert set(Clone.objects.values_list("external_id", flat=True)) == {
        "demo-clone-1",
        "demo-clone-2",
        "demo-clone-3",
    }
    assert Clone.objects.get(external_id="demo-clone-2").owner == sam
    assert PersonaVersion.objects.filter(clone__external_id="demo-clone-1").count() == 3
    assert PersonaVersion.objects.count() == 8
    assert set(Goal.objects.values_list("goal_type", flat=True)) == {
        "pipeline",
        "activity",
        "quality",
        "revenue",
    }
    assert Goal.objects.filter(status="missed").exists()
    assert Goal.objects.count() == 10
    assert PerformanceSnapshot.objects.count() == 3 * goals_demo.SNAPSHOT_DAYS
