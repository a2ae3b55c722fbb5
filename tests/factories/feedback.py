"""Factories for feedback tests: ratings and learnings (outputs come from outcomes')."""

import factory
from django.utils import timezone

from apps.feedback.models import FeedbackEntry, Learning
from tests.factories.outcomes import OutcomeFactory
from tests.factories.users import UserFactory


class FeedbackEntryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FeedbackEntry

    outcome = factory.SubFactory(OutcomeFactory)
    user = factory.SubFactory(UserFactory)
    kind = "inline"
    rating = 1


class LearningFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Learning

    signature = factory.Sequence(lambda n: f"test:general:{n}")
    title = factory.Sequence(lambda n: f"Learning {n}")
    category = "general"
    guidance = "Keep it short."
    relevance_score = 0.5
    evidence_positive = 8
    evidence_total = 10
    extracted_at = factory.LazyFunction(timezone.now)
