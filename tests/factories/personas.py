import factory

from apps.personas.models import PersonaVersion
from tests.factories.agents import CloneFactory as CloneFactory  # also imported from here
from tests.factories.agents import RegionProfileFactory as RegionProfileFactory


class PersonaVersionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PersonaVersion

    clone = factory.SubFactory(CloneFactory)
    number = factory.Sequence(lambda n: n + 1)
