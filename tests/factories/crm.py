from datetime import timedelta
from decimal import Decimal

import factory
from django.utils import timezone

from apps.crm.models import Account, Deal, Interaction


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Account

    external_id = factory.Sequence(lambda n: f"acc-{n}")
    name = factory.Faker("company")
    industry = "software"
    owner = None


class DealFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Deal

    external_id = factory.Sequence(lambda n: f"deal-{n}")
    account = factory.SubFactory(AccountFactory)
    name = factory.LazyAttribute(lambda d: f"{d.account.name} expansion")
    stage = "prospecting"
    amount = Decimal("10000.00")
    stage_changed_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=3))


class InteractionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Interaction

    account = factory.SubFactory(AccountFactory)
    channel = "email"
    direction = "inbound"
    occurred_at = factory.LazyFunction(timezone.now)
    sentiment = 0.2
    summary = "Replied to the last email"
