import factory

from apps.agents.models import Clone, RegionProfile
from tests.factories.users import UserFactory


class RegionProfileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RegionProfile
        django_get_or_create = ["code"]

    code = factory.Sequence(lambda n: f"region-{n}")
    name = factory.LazyAttribute(lambda r: r.code.title())


class CloneFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Clone

    external_id = factory.Sequence(lambda n: f"clone-{n}")
    name = factory.Sequence(lambda n: f"Clone {n}")
    owner = factory.SubFactory(UserFactory, role="rep")
