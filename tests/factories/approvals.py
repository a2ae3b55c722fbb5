from datetime import timedelta
from decimal import Decimal

import factory
from django.utils import timezone

from apps.approvals.models import ActionStatus, Category, ProposedAction
from tests.factories.crm import AccountFactory


class PendingActionFactory(factory.django.DjangoModelFactory):
    """A proposal waiting in the queue (made directly, as if the guardrails held it back)."""

    class Meta:
        model = ProposedAction

    external_id = factory.Sequence(lambda n: f"prop-{n}")
    action_type = "email_sent"
    account = factory.SubFactory(AccountFactory)
    payload = factory.LazyFunction(
        lambda: {"subject": "Pricing for 200 seats", "to": "dana@example.com"}
    )
    rationale = "They asked for pricing twice this week."
    amount = Decimal("60000.00")
    confidence = 0.7
    category = Category.APPROVAL_REQUIRED
    status = ActionStatus.PENDING
    reasons = factory.LazyFunction(
        lambda: ["Amounts from 50,000: amount 60,000 is at least 50,000."]
    )
    risk = 40
    proposed_by = "agent:test"
    proposed_at = factory.LazyFunction(timezone.now)
    expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(hours=48))
