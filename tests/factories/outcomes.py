from datetime import timedelta

import factory
from django.utils import timezone

from apps.outcomes.models import ActionType, OutcomeRecord
from tests.factories.agents import CloneFactory as CloneFactory  # also imported from here
from tests.factories.crm import AccountFactory


def action_type(code: str = "email_sent") -> ActionType:
    """One of the seeded action types (every organisation has them from its migration)."""
    return ActionType.objects.get(code=code)


class OutcomeFactory(factory.django.DjangoModelFactory):
    """A pending outcome; pass ``action_type=action_type("meeting_request")`` etc."""

    class Meta:
        model = OutcomeRecord

    external_id = factory.Sequence(lambda n: f"out-{n}")
    action_type = factory.LazyFunction(action_type)
    account = factory.SubFactory(AccountFactory)
    predicted_confidence = 0.7
    occurred_at = factory.LazyFunction(lambda: timezone.now() - timedelta(hours=1))
    window_ends_at = factory.LazyAttribute(
        lambda o: o.occurred_at + timedelta(hours=o.action_type.window_hours)
    )
    output_text = "Hi Dana, following up on the pricing you asked for."
