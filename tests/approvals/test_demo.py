import random
from decimal import Decimal

from django.utils import timezone

from apps.approvals import demo
from apps.approvals.models import ActionEvent, ProposedAction
from apps.demo.context import DemoContext
from tests.factories.crm import AccountFactory, DealFactory


def test_the_demo_fills_the_queue_and_the_history_and_is_idempotent(
    org, manager, admin_user, monkeypatch
):
    monkeypatch.setattr(demo, "HISTORY_PER_SCALE", 40)
    for number in range(6):
        # Proposal amounts are the deal's value: large enough deals for the guardrails to hold.
        DealFactory(
            account=AccountFactory(external_id=f"demo-acc-{number}"), amount=Decimal("120000")
        )
    ctx = DemoContext(
        org=org,
        scale=1,
        now=timezone.now(),
        rng=random.Random(7),
        users={"maria": manager, "ada": admin_user},
    )

    demo.seed(ctx)
    counts = dict(
        (status, ProposedAction.objects.filter(status=status).count())
        for status in ["pending", "approved", "rejected", "executed", "expired", "blocked"]
    )
    events = ActionEvent.objects.count()
    demo.seed(ctx)

    assert counts["pending"] >= 20
    assert all(counts[status] > 0 for status in ["rejected", "executed", "expired", "blocked"])
    assert ProposedAction.objects.count() == sum(counts.values())
    assert ActionEvent.objects.count() == events
    oldest = ProposedAction.objects.filter(status="pending").order_by("proposed_at").first()
    assert oldest.proposed_at < ctx.now - timezone.timedelta(hours=1)
    assert oldest.events.first().created_at == oldest.proposed_at
