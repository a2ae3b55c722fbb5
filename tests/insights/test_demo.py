from __future__ import annotations

import random

from django.utils import timezone

from apps.crm import demo as crm_demo
from apps.demo.context import DemoContext
from apps.insights import demo
from apps.insights.models import AlertFeedback, Insight


def test_demo_seeds_every_type_and_severity_and_is_idempotent(org, manager, rep):
    ctx = DemoContext(
        org=org,
        scale=1,
        now=timezone.now(),
        rng=random.Random("t"),
        users={"maria": manager, "rory": rep},
    )
    crm_demo.seed(ctx)

    demo.seed(ctx)
    counts = (Insight.objects.count(), AlertFeedback.objects.count())
    demo.seed(ctx)

    assert (Insight.objects.count(), AlertFeedback.objects.count()) == counts
    assert set(Insight.objects.values_list("pattern_type", flat=True)) == {
        "buying_signal",
        "risk_indicator",
        "engagement_change",
        "cross_account_pattern",
    }
    assert set(Insight.objects.values_list("severity", flat=True)) >= {
        "low",
        "medium",
        "high",
        "critical",
    }
    assert set(Insight.objects.values_list("status", flat=True)) == {
        "pending",
        "acted",
        "dismissed",
    }
