import factory

from apps.personas.models import Clone, PersonaVersion, RegionProfile
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


class PersonaVersionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PersonaVersion

    clone = factory.SubFactory(CloneFactory)
    number = factory.Sequence(lambda n: n + 1)
