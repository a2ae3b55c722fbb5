import random

from django.utils import timezone

from apps.demo.context import DemoContext
from apps.feedback.models import FeedbackEntry
from apps.reviews import demo
from apps.reviews.models import Correction, Review, ReviewQueue, Rubric
from tests.factories.outcomes import OutcomeFactory


def _ctx(org, users) -> DemoContext:
    return DemoContext(
        org=org,
        scale=1,
        now=timezone.now(),
        rng=random.Random("reviews-demo"),
        users={user.username: user for user in users},
    )


def _counts() -> tuple[int, int, int, int]:
    return (
        Rubric.objects.count(),
        ReviewQueue.objects.count(),
        Review.objects.count(),
        Correction.objects.count(),
    )


def test_demo_builds_a_reviewed_queue_and_is_idempotent(org, rep, other_rep, manager):
    for outcome in OutcomeFactory.create_batch(120):
        FeedbackEntry.objects.create(outcome=outcome, user=rep, kind="inline", rating=0)
    entries = FeedbackEntry.objects.count()
    demo.seed(_ctx(org, [rep, other_rep, manager]))
    rubrics, queues, reviews, corrections = _counts()
    assert (rubrics, queues) == (5, 1)  # two built-in, three demo rubrics
    assert reviews >= 10 and corrections >= 1
    assert FeedbackEntry.objects.count() == entries  # corrections only on rated outputs
    demo.seed(_ctx(org, [rep, other_rep, manager]))
    assert _counts() == (rubrics, queues, reviews, corrections)
