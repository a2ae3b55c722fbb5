import factory

from apps.reviews.models import Rubric


class RubricFactory(factory.django.DjangoModelFactory):
    """A numeric 1–5 rubric unless told otherwise."""

    class Meta:
        model = Rubric

    name = factory.Sequence(lambda n: f"Rubric {n}")
    kind = "numeric"
    min_value = 1
    max_value = 5
    step = 1
    description = "How good is it?"


def categorical_rubric(name: str = "Tone", labels=("cold", "neutral", "warm")) -> Rubric:
    return RubricFactory(
        name=name,
        kind="categorical",
        min_value=None,
        max_value=None,
        step=None,
        labels=list(labels),
    )


def boolean_rubric(name: str = "Factually correct") -> Rubric:
    return RubricFactory(name=name, kind="boolean", min_value=None, max_value=None, step=None)
