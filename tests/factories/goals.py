from datetime import timedelta
from decimal import Decimal

import factory
from django.utils import timezone

from apps.goals.models import Goal


class GoalFactory(factory.django.DjangoModelFactory):
    """An active goal for the current month-ish window: started 10 days ago, 20 days to go."""

    class Meta:
        model = Goal

    name = factory.Sequence(lambda n: f"Goal {n}")
    goal_type = "activity"
    target = Decimal("10")
    period_start = factory.LazyFunction(lambda: timezone.now().date() - timedelta(days=10))
    period_end = factory.LazyFunction(lambda: timezone.now().date() + timedelta(days=20))
