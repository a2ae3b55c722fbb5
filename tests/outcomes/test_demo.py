"""The demo seeder: realistic, over-confident, decided by the real jobs, idempotent."""

from __future__ import annotations

import random

from django.db.models import Avg, Count
from django.utils import timezone

from apps.agents.models import Clone
from apps.crm import demo as crm_demo
from apps.crm.models import Interaction
from apps.demo.context import DemoContext
from apps.outcomes import demo
from apps.outcomes.models import CalibrationBin, OutcomeRecord
from tests.factories.users import UserFactory


def _context(org) -> DemoContext:
    users = {
        "rory": UserFactory(username="rory", role="rep"),
        "sam": UserFactory(username="sam", role="rep"),
        "maria": UserFactory(username="maria", role="manager"),
    }
    return DemoContext(org=org, scale=1, now=timezone.now(), rng=random.Random(7), users=users)


def test_the_demo_has_hundreds_of_outcomes_in_every_status_and_is_idempotent(org):
    ctx = _context(org)
    crm_demo.seed(ctx)
    demo.seed(ctx)

    by_status = dict(OutcomeRecord.objects.values_list("status").annotate(n=Count("pk")).order_by())
    assert sum(by_status.values()) == demo.PER_SCALE
    assert set(by_status) == {"pending", "resolved", "expired"}
    assert OutcomeRecord.objects.values("action_type").distinct().count() == 4
    assert OutcomeRecord.objects.filter(clone__isnull=False).count() > 150
    assert set(Clone.objects.values_list("external_id", flat=True)) == {
        "demo-clone-1",
        "demo-clone-2",
        "demo-clone-3",
    }
    decided = OutcomeRecord.objects.exclude(status="pending").aggregate(
        predicted=Avg("predicted_confidence"), actual=Avg("score")
    )
    assert decided["predicted"] > decided["actual"] + 0.05  # somewhat over-confident
    assert CalibrationBin.objects.filter(count__gt=0).exists()

    interactions = Interaction.objects.count()
    demo.seed(ctx)
    assert OutcomeRecord.objects.count() == demo.PER_SCALE
    assert Interaction.objects.count() == interactions
