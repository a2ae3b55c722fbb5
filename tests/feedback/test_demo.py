import random

from django.utils import timezone

from apps.demo.context import DemoContext
from apps.feedback import demo
from apps.feedback.models import FeedbackEntry, Learning, LearningApplication
from tests.factories.crm import AccountFactory
from tests.factories.outcomes import OutcomeFactory


def _ctx(org, users) -> DemoContext:
    return DemoContext(
        org=org,
        scale=1,
        now=timezone.now(),
        rng=random.Random("feedback-demo"),
        users={user.username: user for user in users},
    )


def _counts() -> tuple[int, int, int]:
    return (
        FeedbackEntry.objects.count(),
        Learning.objects.count(),
        LearningApplication.objects.count(),
    )


def test_demo_seeds_nothing_without_outcomes(org, rep, manager):
    demo.seed(_ctx(org, [rep, manager]))
    assert _counts() == (0, 0, 0)


def test_demo_rates_the_reps_outputs_adds_learnings_and_is_idempotent(org, rep, manager):
    account = AccountFactory(owner=rep)
    OutcomeFactory.create_batch(40, account=account)
    OutcomeFactory.create_batch(5)  # no owner: nobody rates these

    demo.seed(_ctx(org, [rep, manager]))

    entries, learnings, applications = _counts()
    assert entries > 20
    assert not FeedbackEntry.objects.filter(outcome__account__owner__isnull=True).exists()
    assert learnings >= 3 and applications > 0
    assert FeedbackEntry.objects.filter(kind="dashboard").exclude(comment="").exists()

    demo.seed(_ctx(org, [rep, manager]))
    assert _counts() == (entries, learnings, applications)
