"""Writes of reviews: rubrics, queues and their fill, reviews, scores, corrections, settling."""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import F

from apps.feedback.models import FeedbackEntry, FeedbackKind
from apps.feedback.services import feedback_rate
from apps.outcomes.models import ActionType, OutcomeRecord, OutcomeStatus
from apps.reviews.models import (
    Correction,
    Origin,
    Review,
    ReviewItem,
    ReviewQueue,
    ReviewStatus,
    Rubric,
    RubricKind,
    Score,
    ScoreSource,
    Settlement,
)
from apps.users.models import User
from apps.users.roles import Role

MAX_NUMERIC_STEPS = 1000
MAX_LABELS = 20
CORRECTION_MAX = 20000


# --- Rubrics ---------------------------------------------------------------------------


def rubric_validate(
    *,
    kind: str,
    min_value: float | None = None,
    max_value: float | None = None,
    step: float | None = None,
    labels: Iterable[str] | None = None,
) -> dict:
    """The one check of a rubric's configuration per type; returns the cleaned fields."""
    if kind not in RubricKind.values:
        raise ValidationError({"kind": f"Type must be one of: {', '.join(RubricKind.values)}."})
    errors: dict[str, str] = {}
    clean: dict = {"kind": kind, "min_value": None, "max_value": None, "step": None, "labels": []}
    if kind == RubricKind.NUMERIC:
        values = {"min_value": min_value, "max_value": max_value, "step": step}
        for field, value in values.items():
            if value is None or not math.isfinite(float(value)):
                errors[field] = "A numeric rubric needs this number."
        if not errors:
            low, high, step = float(min_value), float(max_value), float(step)
            if high <= low:
                errors["max_value"] = "The maximum must be greater than the minimum."
            elif step <= 0:
                errors["step"] = "The step must be greater than 0."
            else:
                steps = (high - low) / step
                if not math.isfinite(steps) or steps > MAX_NUMERIC_STEPS:
                    errors["step"] = f"At most {MAX_NUMERIC_STEPS} steps from min to max."
                elif abs(steps - round(steps)) > 1e-9:
                    errors["step"] = "The range must be a whole number of steps."
            clean |= {"min_value": low, "max_value": high, "step": step}
    elif kind == RubricKind.CATEGORICAL:
        cleaned = [str(label).strip() for label in (labels or [])]
        if any(not label for label in cleaned):
            errors["labels"] = "Labels cannot be empty."
        elif len(cleaned) < 2 or len(cleaned) > MAX_LABELS:
            errors["labels"] = f"A categorical rubric needs 2 to {MAX_LABELS} labels."
        elif len({label.lower() for label in cleaned}) != len(cleaned):
            errors["labels"] = "Labels must be distinct."
        elif any(len(label) > 60 for label in cleaned):
            errors["labels"] = "A label has at most 60 characters."
        clean["labels"] = cleaned
    if errors:
        raise ValidationError(errors)
    return clean


def rubric_options(rubric: Rubric) -> list[tuple[float, str]]:
    """The values a reviewer can pick, with their labels (numeric: every step)."""
    if rubric.kind == RubricKind.BOOLEAN:
        return [(1.0, "Yes"), (0.0, "No")]
    if rubric.kind == RubricKind.CATEGORICAL:
        return [(float(index), label) for index, label in enumerate(rubric.labels)]
    count = round((rubric.max_value - rubric.min_value) / rubric.step) + 1
    values = [round(rubric.min_value + index * rubric.step, 9) for index in range(count)]
    return [(value, f"{value:g}") for value in values]


def rubric_parse_value(rubric: Rubric, raw) -> float:
    """The one check of a score value against its rubric; returns the stored number.

    Categorical values may be given as the label or its index; booleans as true/false,
    yes/no or 1/0.
    """
    if rubric.kind == RubricKind.BOOLEAN:
        lowered = str(raw).strip().lower()
        if raw is True or lowered in {"true", "yes", "1", "1.0"}:
            return 1.0
        if raw is False or lowered in {"false", "no", "0", "0.0"}:
            return 0.0
        raise ValidationError(f"'{rubric.name}' takes yes or no.")
    if rubric.kind == RubricKind.CATEGORICAL:
        if isinstance(raw, str) and raw.strip() in rubric.labels:
            return float(rubric.labels.index(raw.strip()))
        try:
            index = float(raw)
        except (TypeError, ValueError, OverflowError):
            index = -1.0
        if isinstance(raw, bool) or not index.is_integer() or not 0 <= index < len(rubric.labels):
            raise ValidationError(f"'{rubric.name}' takes one of: {', '.join(rubric.labels)}.")
        return index
    try:
        value = float(raw)
    except (TypeError, ValueError, OverflowError):
        value = math.nan
    if isinstance(raw, bool) or not math.isfinite(value):
        raise ValidationError(f"'{rubric.name}' takes a number.")
    if not rubric.min_value <= value <= rubric.max_value:
        raise ValidationError(
            f"'{rubric.name}' takes {rubric.min_value:g} to {rubric.max_value:g}."
        )
    steps = (value - rubric.min_value) / rubric.step
    if abs(steps - round(steps)) > 1e-6:
        raise ValidationError(f"'{rubric.name}' goes in steps of {rubric.step:g}.")
    return round(rubric.min_value + round(steps) * rubric.step, 9)


@transaction.atomic
def rubric_save(
    *,
    rubric: Rubric | None = None,
    name: str,
    kind: str,
    description: str = "",
    min_value: float | None = None,
    max_value: float | None = None,
    step: float | None = None,
    labels: Iterable[str] | None = None,
    is_active: bool = True,
) -> Rubric:
    """Create or change a rubric. A built-in rubric's scale cannot change (its values are
    the stored ratings); neither can the scale of a rubric that already has scores."""
    name = name.strip()
    if not name:
        raise ValidationError({"name": "A rubric needs a name."})
    clean = rubric_validate(
        kind=kind, min_value=min_value, max_value=max_value, step=step, labels=labels
    )
    if Rubric.objects.filter(name__iexact=name).exclude(pk=getattr(rubric, "pk", None)).exists():
        raise ValidationError({"name": "Another rubric has this name."})
    if rubric is not None:
        scale = ("kind", "min_value", "max_value", "step", "labels")
        changed = any(getattr(rubric, field) != clean[field] for field in scale)
        if changed and rubric.builtin:
            raise ValidationError({"kind": "The scale of a built-in rubric cannot change."})
        if changed and rubric.scores.exists():
            raise ValidationError(
                {"kind": "This rubric has scores; archive it and create a new one."}
            )
    rubric = rubric or Rubric()
    rubric.name = name
    rubric.description = description.strip()
    rubric.is_active = is_active
    for field, value in clean.items():
        setattr(rubric, field, value)
    rubric.full_clean(exclude=["labels"])
    rubric.save()
    return rubric


# --- Scores ------------------------------------------------------------------------------


def score_record(
    *,
    outcome: OutcomeRecord,
    rubric: Rubric,
    value,
    user: User | None = None,
    evaluator: str = "",
    comment: str = "",
) -> tuple[Score, bool]:
    """Record a person's score (``user``) or an automated evaluator's (``evaluator``).

    Scoring again updates the same score. A person's score on a built-in rubric is their
    FeedbackEntry of that kind (so the ratings keep one home); it comes back as an unsaved
    Score mirroring the entry.
    """
    if not rubric.is_active:
        raise ValidationError({"rubric": "This rubric is archived."})
    try:
        number = rubric_parse_value(rubric, value)
    except ValidationError as error:
        raise ValidationError({"value": error.messages}) from error
    if user is not None and rubric.builtin:
        entry, created = feedback_rate(
            user=user, outcome=outcome, kind=rubric.builtin, rating=int(number)
        )
        mirror = Score(
            outcome=outcome, rubric=rubric, value=number, source=ScoreSource.HUMAN, user=user
        )
        mirror.created_at, mirror.updated_at = entry.created_at, entry.updated_at
        return mirror, created
    if user is not None:
        source, lookup = ScoreSource.HUMAN, {"user": user}
    else:
        evaluator = evaluator.strip()
        if not evaluator:
            raise ValidationError({"evaluator": "An automated score names its evaluator."})
        source, lookup = ScoreSource.API, {"evaluator": evaluator[:100], "user": None}
    with transaction.atomic():
        score, created = Score.objects.update_or_create(
            outcome=outcome,
            rubric=rubric,
            source=source,
            **lookup,
            defaults={"value": number, "comment": comment.strip()[:2000]},
        )
    return score, created


# --- Queues ------------------------------------------------------------------------------


@transaction.atomic
def queue_save(
    *,
    queue: ReviewQueue | None = None,
    name: str,
    rubrics: Iterable[Rubric],
    description: str = "",
    action_types: Iterable[ActionType] = (),
    clones: Iterable = (),
    min_confidence: float | None = None,
    max_confidence: float | None = None,
    outcome_status: str = "",
    origin: str = "",
    sample_rate_bp: int = 10000,
    reviewers: Iterable[User] = (),
    reviewer_roles: Iterable[str] = (),
    reviews_needed: int = 1,
    disagreement_threshold: float = 0.25,
    is_active: bool = True,
    created_by: User | None = None,
) -> ReviewQueue:
    """Create or change a queue and admit the outcomes its rule selects at once."""
    errors: dict[str, str] = {}
    name = name.strip()
    rubrics, reviewers, roles = list(rubrics), list(reviewers), list(dict.fromkeys(reviewer_roles))
    if not name:
        errors["name"] = "A queue needs a name."
    elif (
        ReviewQueue.objects.filter(name__iexact=name)
        .exclude(pk=getattr(queue, "pk", None))
        .exists()
    ):
        errors["name"] = "Another queue has this name."
    if not rubrics:
        errors["rubrics"] = "Pick at least one rubric."
    elif any(not rubric.is_active for rubric in rubrics):
        errors["rubrics"] = "Archived rubrics cannot be used."
    if not reviewers and not roles:
        errors["reviewers"] = "Assign reviewers: people, roles or both."
    if any(role not in Role.values for role in roles):
        errors["reviewer_roles"] = f"Roles are: {', '.join(Role.values)}."
    if not 1 <= int(reviews_needed) <= 3:
        errors["reviews_needed"] = "Each item needs 1 to 3 reviews."
    if not 0 <= int(sample_rate_bp) <= 10000:
        errors["sample_rate_bp"] = "The sampling rate is 0 to 100 %."
    for field, value in (("min_confidence", min_confidence), ("max_confidence", max_confidence)):
        if value is not None and not 0 <= value <= 1:
            errors[field] = "Confidence is between 0 and 1."
    if (
        min_confidence is not None
        and max_confidence is not None
        and min_confidence > max_confidence
    ):
        errors["max_confidence"] = "The maximum confidence is below the minimum."
    if outcome_status and outcome_status not in OutcomeStatus.values:
        errors["outcome_status"] = f"Status is one of: {', '.join(OutcomeStatus.values)}."
    if origin and origin not in Origin.values:
        errors["origin"] = f"Origin is one of: {', '.join(Origin.values)}."
    if not 0 <= disagreement_threshold <= 1:
        errors["disagreement_threshold"] = "The threshold is between 0 and 1."
    if errors:
        raise ValidationError(errors)
    queue = queue or ReviewQueue(created_by=created_by)
    queue.name, queue.description = name, description.strip()
    queue.min_confidence, queue.max_confidence = min_confidence, max_confidence
    queue.outcome_status, queue.sample_rate_bp = outcome_status, int(sample_rate_bp)
    queue.origin = origin
    queue.reviewer_roles, queue.reviews_needed = roles, int(reviews_needed)
    queue.disagreement_threshold, queue.is_active = disagreement_threshold, is_active
    queue.filled_at = None  # the rule may have changed: look at every outcome again
    queue.save()
    queue.rubrics.set(rubrics)
    queue.action_types.set(list(action_types))
    queue.clones.set(list(clones))
    queue.reviewers.set(reviewers)
    queues_fill(queue_id=queue.pk)
    return queue


# Outcomes recorded or decided this long before a queue's last fill are looked at again:
# a transaction that recorded or resolved them may have committed after that fill began.
FILL_OVERLAP = timedelta(minutes=15)


def _fill_sql() -> str:
    """Admit every outcome an active queue's rule selects and it does not hold yet.

    One statement: INSERT … SELECT … ON CONFLICT DO NOTHING, idempotent and safe to run
    concurrently (the unique (queue, outcome) constraint decides), plus marking each
    queue's ``filled_at``. A queue never filled (new, or its rule changed) looks at every
    outcome; afterwards only at outcomes recorded or decided since its last fill (with an
    overlap), so the periodic job does not re-offer the whole history to ON CONFLICT.
    Sampling is deterministic: an outcome enters when hashtext(queue id:outcome id) mod
    10000 is below the rate in basis points, so re-runs admit exactly the same outcomes.
    """
    item = ReviewItem._meta.db_table
    queue = ReviewQueue._meta.db_table
    outcome = OutcomeRecord._meta.db_table
    types = ReviewQueue.action_types.through._meta.db_table
    clones = ReviewQueue.clones.through._meta.db_table
    return f"""
        WITH chosen AS (
            SELECT * FROM {queue} q
             WHERE q.is_active AND (%(queue_id)s::bigint IS NULL OR q.id = %(queue_id)s::bigint)
        ), admitted AS (
            INSERT INTO {item} (queue_id, outcome_id, reviews_done, created_at)
            SELECT q.id, o.id, 0, now()
            FROM chosen q
            JOIN {outcome} o
              ON o.deleted_at IS NULL
             AND (q.filled_at IS NULL
                  OR o.created_at >= q.filled_at - %(overlap)s
                  OR o.resolved_at >= q.filled_at - %(overlap)s)
             AND (q.min_confidence IS NULL OR o.predicted_confidence >= q.min_confidence)
             AND (q.max_confidence IS NULL OR o.predicted_confidence <= q.max_confidence)
             AND (q.outcome_status = '' OR o.status = q.outcome_status)
             AND (q.origin = ''
                  OR (q.origin = %(proposed)s) = (o.metadata ? 'proposed_action'))
             AND (NOT EXISTS (SELECT 1 FROM {types} t WHERE t.reviewqueue_id = q.id)
                  OR o.action_type_id IN (
                      SELECT t.actiontype_id FROM {types} t WHERE t.reviewqueue_id = q.id))
             AND (NOT EXISTS (SELECT 1 FROM {clones} c WHERE c.reviewqueue_id = q.id)
                  OR o.clone_id IN (
                      SELECT c.clone_id FROM {clones} c WHERE c.reviewqueue_id = q.id))
             AND mod(abs(hashtext(q.id::text || ':' || o.id::text)::bigint), 10000)
                 < q.sample_rate_bp
            ON CONFLICT (queue_id, outcome_id) DO NOTHING
            RETURNING 1
        ), marked AS (
            UPDATE {queue} SET filled_at = now() WHERE id IN (SELECT id FROM chosen)
        )
        SELECT count(*) FROM admitted
    """


def queues_fill(*, queue_id: int | None = None) -> int:
    """Admit new matching outcomes into every active queue (or one); returns how many."""
    params = {"queue_id": queue_id, "proposed": Origin.PROPOSED, "overlap": FILL_OVERLAP}
    with transaction.atomic(), connection.cursor() as cursor:
        # The planner prices the queue × outcome join far above what it costs (the rule is
        # a join filter), and JIT-compiling it took 1.6 s of a 2 s run on 200,000 outcomes.
        cursor.execute("SET LOCAL jit = off")
        cursor.execute(_fill_sql(), params)
        return cursor.fetchone()[0]


# --- Reviews -----------------------------------------------------------------------------


class ItemFull(Exception):
    """The item already has the reviews it needs (another reviewer finished it first)."""


def _unified_diff(original: str, corrected: str) -> str:
    return "\n".join(
        difflib.unified_diff(
            original.splitlines(), corrected.splitlines(), "original", "correction", lineterm=""
        )
    )


def correction_record(*, outcome: OutcomeRecord, author: User, text: str) -> Correction:
    """Store the output the agent should have produced, with its diff against the original.

    A correction counts as feedback: when the author has not rated the output inline, it
    records their inline rating of −1 (the output was not what it should have been).
    """
    text = text.replace("\r\n", "\n").strip()
    if not text:
        raise ValidationError({"correction": "Write the output the agent should have produced."})
    if len(text) > CORRECTION_MAX:
        raise ValidationError({"correction": f"At most {CORRECTION_MAX} characters."})
    original = outcome.output_text or ""
    if text == original.strip():
        raise ValidationError({"correction": "The correction is the same as the original."})
    diff = _unified_diff(original, text)
    with transaction.atomic():
        correction, _ = Correction.objects.update_or_create(
            outcome=outcome,
            author=author,
            action_ref="",
            defaults={"original_text": original, "corrected_text": text, "diff": diff},
        )
        rated = FeedbackEntry.objects.filter(
            outcome=outcome, user=author, kind=FeedbackKind.INLINE
        ).exists()
        if not rated:
            feedback_rate(user=author, outcome=outcome, kind=FeedbackKind.INLINE, rating=-1)
    return correction


def correction_from_action_edit(
    *,
    action_ref: str,
    action_type: str,
    clone_id: int | None,
    author: User,
    original: str,
    corrected: str,
) -> Correction | None:
    """Record an approver's edit of a proposed action (approve with edits) as a correction:
    the agent's text against the approved text, an example of ``action_type`` (and the
    clone). One per action, idempotent; nothing when the edit left the text unchanged
    (e.g. only a discount was changed). Call it inside the decision's transaction."""
    original = original.replace("\r\n", "\n").strip()
    corrected = corrected.replace("\r\n", "\n").strip()[:CORRECTION_MAX]
    if not corrected or corrected == original:
        Correction.objects.filter(action_ref=action_ref).delete()
        return None
    correction, _ = Correction.objects.update_or_create(
        action_ref=action_ref,
        defaults={
            "author": author,
            "action_type": action_type,
            "clone_id": clone_id,
            "original_text": original,
            "corrected_text": corrected,
            "diff": _unified_diff(original, corrected),
        },
    )
    return correction


def corrections_from_action_edits_withdraw(*, action_refs: Iterable[str]) -> int:
    """Remove the corrections of edits that were undone (the actions are pending again)."""
    refs = [ref for ref in action_refs if ref]
    if not refs:
        return 0
    deleted, _ = Correction.objects.filter(action_ref__in=refs).delete()
    return deleted


def correction_from_action_edit_attach(*, action_ref: str, outcome: OutcomeRecord) -> int:
    """Link an action edit's correction to the outcome its execution recorded, so reviews
    of that outcome and the dataset export carry it."""
    return Correction.objects.filter(action_ref=action_ref, outcome__isnull=True).update(
        outcome=outcome
    )


def review_submit(
    *,
    item: ReviewItem,
    reviewer: User,
    values: dict[int, object],
    correction: str = "",
) -> Review:
    """Record ``reviewer``'s scores (by rubric id) and optional correction on ``item``.

    All in one transaction on the locked item: a reviewer counts once per item (reviewing
    again updates the scores), and an item takes no more than its K distinct reviews —
    a late reviewer gets ItemFull and nothing is stored.
    """
    rubrics = {rubric.pk: rubric for rubric in item.queue.rubrics.all()}
    errors: dict[str, list[str]] = {}
    parsed: list[tuple[Rubric, object]] = []
    for rubric_id, raw in values.items():
        rubric = rubrics.get(rubric_id)
        if rubric is None:
            errors.setdefault("scores", []).append("A score is for a rubric of another queue.")
            continue
        if raw in (None, ""):
            continue
        try:
            rubric_parse_value(rubric, raw)
        except ValidationError as error:
            errors[f"rubric_{rubric_id}"] = error.messages
        parsed.append((rubric, raw))
    missing = [
        rubric.name
        for rubric in rubrics.values()
        if rubric.pk not in dict(values) or values[rubric.pk] in (None, "")
    ]
    if missing and not errors:
        errors["scores"] = [f"Score every rubric: {', '.join(missing)}."]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        locked = ReviewItem.objects.select_for_update().get(pk=item.pk)
        review = Review.objects.filter(item=locked, reviewer=reviewer).first()
        already_done = review is not None and review.status == ReviewStatus.DONE
        if not already_done and locked.reviews_done >= item.queue.reviews_needed:
            raise ItemFull
        for rubric, raw in parsed:
            score_record(outcome=item.outcome, rubric=rubric, value=raw, user=reviewer)
        if correction.strip():
            correction_record(outcome=item.outcome, author=reviewer, text=correction)
        if not already_done:
            if review is None:
                review = Review.objects.create(
                    item=locked, reviewer=reviewer, status=ReviewStatus.DONE
                )
            else:
                review.status = ReviewStatus.DONE
                review.save(update_fields=["status"])
            ReviewItem.objects.filter(pk=locked.pk).update(reviews_done=F("reviews_done") + 1)
    return review


def review_skip(*, item: ReviewItem, reviewer: User) -> None:
    """Pass on an item: it will not be offered to this reviewer again (idempotent)."""
    Review.objects.get_or_create(
        item=item, reviewer=reviewer, defaults={"status": ReviewStatus.SKIPPED}
    )


def settlement_record(*, item: ReviewItem, rubric: Rubric, value, user: User) -> Settlement:
    """A manager settles a disagreement: the value becomes the item's score on the rubric."""
    if not item.queue.rubrics.filter(pk=rubric.pk).exists():
        raise ValidationError({"rubric": "This rubric is not scored in the item's queue."})
    try:
        number = rubric_parse_value(rubric, value)
    except ValidationError as error:
        raise ValidationError({"value": error.messages}) from error
    with transaction.atomic():
        settlement, _ = Settlement.objects.update_or_create(
            item=item, rubric=rubric, defaults={"value": number, "settled_by": user}
        )
    return settlement
