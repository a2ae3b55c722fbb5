"""Demo reviews: three rubrics, a queue sampling a quarter of the emails for the reps (two
reviews per item), part of it reviewed — with a few disagreements and corrections.

Needs the outcomes seeder first. Idempotent: rubrics and the queue are found by name, and
reviews are only written when the queue has none.
"""

from __future__ import annotations

from apps.feedback.models import FeedbackEntry, FeedbackKind
from apps.outcomes.models import ActionType
from apps.reviews.models import Review, ReviewQueue, Rubric
from apps.reviews.selectors import next_item
from apps.reviews.services import ItemFull, queue_save, review_submit, rubric_save

QUEUE = "Autonomous emails (25 %)"
RUBRICS = [
    {
        "name": "Personalisation",
        "kind": "numeric",
        "min_value": 1,
        "max_value": 5,
        "step": 1,
        "description": "1: could be sent to anyone … 5: only makes sense for this customer.",
    },
    {
        "name": "Tone",
        "kind": "categorical",
        "labels": ["Too pushy", "Right", "Too timid"],
        "description": "How the email would land with this contact.",
    },
    {
        "name": "Factually correct",
        "kind": "boolean",
        "description": "Every product, price and date in the email is right.",
    },
]
CORRECTION = (
    "Hi {first},\n\nThanks for the questions on Tuesday. The pricing for the seats you "
    "mentioned is attached; would Thursday 10:00 or Friday 14:00 suit for a short call?\n\nBest"
)


def planned_steps(ctx) -> int:
    return 2


def seed(ctx) -> None:
    rubrics = []
    for spec in RUBRICS:
        rubric = Rubric.objects.filter(name=spec["name"]).first() or rubric_save(**spec)
        rubrics.append(rubric)
    queue = ReviewQueue.objects.filter(name=QUEUE).first()
    if queue is None:
        queue = queue_save(
            name=QUEUE,
            description="A quarter of the emails the agent sent, reviewed by two reps each.",
            rubrics=rubrics,
            action_types=list(ActionType.objects.filter(code="email_sent")),
            sample_rate_bp=2500,
            reviewer_roles=["rep"],
            reviews_needed=2,
        )
    ctx.step()
    reps = ctx.reps[:2]
    if len(reps) < 2 or Review.objects.filter(item__queue=queue).exists():
        ctx.step()
        return
    rng = ctx.rng
    personalisation, tone, correct = rubrics
    for _ in range(min(12 * ctx.scale, queue.items.count())):
        item = next_item(queue, reps[0])
        if item is None:
            break
        base = rng.randint(2, 5)
        for offset, rep in enumerate(reps):
            score = base if offset == 0 or rng.random() < 0.7 else max(1, base - 3)
            values = {
                personalisation.pk: score,
                tone.pk: rng.choice(["Right", "Right", "Too pushy"]),
                correct.pk: "yes" if rng.random() < 0.9 else "no",
            }
            text = ""
            # Corrections only where the rep has rated the output already: a correction
            # otherwise records their inline −1, and the feedback seeder, which ran first,
            # would extract from it on the next run (seed_demo must be idempotent).
            rated = FeedbackEntry.objects.filter(
                outcome=item.outcome, user=rep, kind=FeedbackKind.INLINE
            ).exists()
            if offset == 0 and rated and rng.random() < 0.3:
                text = CORRECTION.format(first=item.outcome.account.name.split()[0])
            try:
                review_submit(item=item, reviewer=rep, values=values, correction=text)
            except ItemFull:
                break
    ctx.step()
