"""Demo feedback: the demo reps rate most agent output on their accounts, a manager adds
detailed reviews, extraction turns the ratings into learnings, the agent has used a few.

Needs the outcomes seeder to have run first; with no outcomes it seeds nothing.
Idempotent: one entry per (user, outcome, kind) and learnings keyed by signature.
"""

from __future__ import annotations

from datetime import timedelta

from apps.feedback import models
from apps.feedback.services import learning_application_record, learnings_extract
from apps.outcomes.models import OutcomeRecord

COMMENTS = {
    "good": [
        "Short and to the point — I'd send this as is.",
        "Good hook, and the meeting ask is concrete.",
        "Tone matches how I talk to this customer.",
        "Exactly the follow-up I would have written.",
    ],
    "poor": [
        "Far too long; the ask is buried in the last paragraph.",
        "Generic — nothing about their actual situation.",
        "Too pushy for a customer who just went quiet.",
        "Wrong contact: procurement is not the decision maker here.",
    ],
    "middle": [
        "Fine, but I had to change the opening.",
        "OK content, would cut it by half.",
    ],
}

MANUAL_LEARNINGS = [
    (
        "demo:general:reference-last-interaction",
        "Reference the customer's last message in the first line",
        models.LearningCategory.GENERAL,
        "Open with the specific thing the customer said last time (a question, a concern, a date). "
        "Reps consistently rate openings that quote the last interaction higher than generic greetings.",
        0.8,
    ),
    (
        "demo:call_to_action:two-time-slots",
        "Offer two concrete time slots instead of asking for availability",
        models.LearningCategory.CALL_TO_ACTION,
        "End meeting requests with two specific slots (e.g. Tue 10:00 or Thu 15:00, customer's time zone).",
        0.7,
    ),
    (
        "demo:timing:no-friday-afternoon",
        "Avoid escalations late on Friday",
        models.LearningCategory.TIMING,
        "Escalations sent after 15:00 on Fridays get answered Monday at best; send Thursday or Monday morning.",
        0.5,
    ),
]


def mood_of(detailed_rating: int) -> str:
    """Which comments fit a 1-5 rating: a comment never contradicts its stars."""
    return "good" if detailed_rating >= 4 else ("middle" if detailed_rating == 3 else "poor")


def planned_steps(ctx) -> int:
    return 3


def _verdict(outcome: OutcomeRecord, rng) -> int:
    """A plausible inline rating: short outputs and good outcomes are liked more."""
    score = 0.0
    length = len(outcome.output_text or "")
    score += 0.6 if length and length < 300 else (-0.5 if length > 800 else 0.0)
    if outcome.status == "resolved" and (outcome.score or 0) >= 0.5:
        score += 0.5
    elif outcome.status == "expired":
        score -= 0.4
    score += rng.uniform(-0.6, 0.6)
    return 1 if score > 0.35 else (-1 if score < -0.35 else 0)


def seed(ctx) -> None:
    rng, now = ctx.rng, ctx.now
    outcomes = list(OutcomeRecord.objects.select_related("account").order_by("pk"))
    if not outcomes:
        ctx.step(3)
        return
    first_run = not models.FeedbackEntry.objects.exists()
    if first_run:
        _rate(ctx, outcomes)
    ctx.step()

    for signature, title, category, guidance, relevance in MANUAL_LEARNINGS:
        models.Learning.objects.get_or_create(
            signature=signature,
            defaults={
                "title": title,
                "category": category,
                "guidance": guidance,
                "relevance_score": relevance,
                "evidence_positive": 8,
                "evidence_total": 10,
                "extracted_at": now - timedelta(days=rng.randint(5, 50)),
            },
        )
    if first_run:
        # From the ratings just placed. A later run must not extract again: by then the
        # simulator's ratings are there too, and these looser thresholds would add rows.
        learnings_extract(now=now, min_support=2, min_lift=0.2)
    ctx.step()

    if not models.LearningApplication.objects.exists():
        for learning in models.Learning.objects.order_by("pk")[:6]:
            for _ in range(rng.randint(2, 8)):
                learning_application_record(
                    learning=learning,
                    outcome=rng.choice(["success", "success", "partial", "failure"]),
                    context="Applied by the demo agent",
                    applied_at=now - timedelta(days=rng.randint(0, 40), hours=rng.randint(0, 23)),
                )
    ctx.step()


def _dashboard_rating(outcome: OutcomeRecord, rating: int, **fields) -> models.FeedbackEntry:
    """A detailed rating given on the dashboard (by the owner or by their manager)."""
    return models.FeedbackEntry(
        outcome=outcome,
        kind=models.FeedbackKind.DASHBOARD,
        feedback_source=models.FeedbackSource.DASHBOARD,
        rating=rating,
        **fields,
    )


def _rate(ctx, outcomes: list[OutcomeRecord]) -> None:
    rng = ctx.rng
    manager = next((user for user in ctx.users.values() if user.role == "manager"), None)
    entries: list[models.FeedbackEntry] = []
    for outcome in outcomes:
        owner_id = outcome.account.owner_id
        if owner_id is None or rng.random() > 0.75:
            continue
        rating = _verdict(outcome, rng)
        entries.append(
            models.FeedbackEntry(
                outcome=outcome, user_id=owner_id, kind=models.FeedbackKind.INLINE, rating=rating
            )
        )
        if rng.random() < 0.3:
            detailed = {1: rng.choice([4, 5]), 0: 3, -1: rng.choice([1, 2])}[rating]
            mood = mood_of(detailed)
            entries.append(
                _dashboard_rating(
                    outcome,
                    detailed,
                    user_id=owner_id,
                    comment=rng.choice(COMMENTS[mood]) if rng.random() < 0.7 else "",
                    usefulness=max(1, min(5, detailed + rng.choice([-1, 0, 0, 1]))),
                    quality=max(1, min(5, detailed + rng.choice([-1, 0, 1]))),
                    clarity=max(1, min(5, detailed + rng.choice([0, 0, 1]))),
                    likelihood_to_reuse=max(1, min(10, detailed * 2 + rng.choice([-1, 0]))),
                    would_recommend=detailed >= 4,
                )
            )
        if manager is not None and rng.random() < 0.08:
            detailed = rng.randint(2, 5)
            entries.append(
                _dashboard_rating(
                    outcome,
                    detailed,
                    user=manager,
                    comment=rng.choice(COMMENTS[mood_of(detailed)]),
                )
            )
    models.FeedbackEntry.objects.bulk_create(entries, ignore_conflicts=True, batch_size=1000)
