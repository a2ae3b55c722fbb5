"""Writes for feedback and learnings: ratings, learning uses, extraction, activation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from apps.feedback.models import (
    APPLICATION_POINTS,
    RATING_SCALES,
    FeedbackEntry,
    FeedbackKind,
    Learning,
    LearningApplication,
    LearningCategory,
)
from apps.feedback.scoring import confidence_sql, decay_sql, success_rate_sql
from apps.outcomes.models import OutcomeRecord
from apps.users.models import User

DIMENSIONS: dict[str, tuple[int, int]] = {
    "usefulness": (1, 5),
    "quality": (1, 5),
    "clarity": (1, 5),
    "likelihood_to_reuse": (1, 10),
}


def feedback_validate(
    *, kind: str, rating: int, dimensions: dict[str, int | bool | None] | None = None
) -> None:
    """Raise a ValidationError naming each field that breaks the scale of ``kind``."""
    errors: dict[str, str] = {}
    if kind not in RATING_SCALES:
        raise ValidationError({"kind": f"Kind must be one of: {', '.join(RATING_SCALES)}."})
    low, high = RATING_SCALES[kind]
    if rating is None or not low <= rating <= high:
        errors["rating"] = f"A {kind} rating must be between {low} and {high}."
    for field, value in (dimensions or {}).items():
        if value is None:
            continue
        if kind != FeedbackKind.DASHBOARD:
            errors[field] = "Only detailed (dashboard) feedback has this score."
        elif field in DIMENSIONS:
            dim_low, dim_high = DIMENSIONS[field]
            if not dim_low <= value <= dim_high:
                errors[field] = f"Must be between {dim_low} and {dim_high}."
    if errors:
        raise ValidationError(errors)


def feedback_rate(
    *,
    user: User,
    outcome: OutcomeRecord,
    kind: str,
    rating: int,
    comment: str = "",
    usefulness: int | None = None,
    quality: int | None = None,
    clarity: int | None = None,
    likelihood_to_reuse: int | None = None,
    would_recommend: bool | None = None,
) -> tuple[FeedbackEntry, bool]:
    """Save ``user``'s rating of ``outcome``; rating again updates the same entry.

    Returns (entry, created). The caller has checked that the user may see the outcome.
    An inline rating changes only the rating; a detailed one replaces the whole form.
    """
    dimensions = {
        "usefulness": usefulness,
        "quality": quality,
        "clarity": clarity,
        "likelihood_to_reuse": likelihood_to_reuse,
        "would_recommend": would_recommend,
    }
    feedback_validate(kind=kind, rating=rating, dimensions=dimensions)
    defaults: dict = {"rating": rating}
    if kind == FeedbackKind.DASHBOARD:
        defaults |= {"comment": comment.strip(), **dimensions}
    elif comment:
        defaults["comment"] = comment.strip()
    with transaction.atomic():
        entry, created = FeedbackEntry.objects.update_or_create(
            user=user, outcome=outcome, kind=kind, defaults=defaults
        )
    return entry, created


@transaction.atomic
def learning_application_record(
    *,
    learning: Learning,
    outcome: str,
    outcome_record: OutcomeRecord | None = None,
    context: str = "",
    metadata: dict | None = None,
    applied_by: User | None = None,
    applied_at: datetime | None = None,
) -> tuple[LearningApplication, Learning]:
    """Record one use of a learning and update its counters and scores together."""
    if outcome not in APPLICATION_POINTS:
        raise ValidationError(
            {"outcome": f"Outcome must be one of: {', '.join(APPLICATION_POINTS)}."}
        )
    now = timezone.now()
    applied_at = applied_at or now
    learning = Learning.objects.select_for_update().get(pk=learning.pk)
    application = LearningApplication.objects.create(
        learning=learning,
        outcome=outcome,
        outcome_record=outcome_record,
        context=context,
        metadata=metadata or {},
        applied_by=applied_by,
        applied_at=applied_at,
    )
    learning.application_count += 1
    learning.success_points += APPLICATION_POINTS[outcome]
    learning.last_applied_at = max(filter(None, [learning.last_applied_at, applied_at]))
    if outcome == "success":
        learning.last_success_at = max(filter(None, [learning.last_success_at, applied_at]))
    learning.save(
        update_fields=[
            "application_count",
            "success_points",
            "last_applied_at",
            "last_success_at",
            "updated_at",
        ]
    )
    learnings_refresh_scores(now=now, ids=[learning.pk])
    learning.refresh_from_db()
    return application, learning


def learnings_refresh_scores(*, now: datetime | None = None, ids: list[int] | None = None) -> int:
    """Recompute success_rate, confidence_score and decay_factor in one UPDATE."""
    learnings = Learning.objects.all()
    if ids is not None:
        learnings = learnings.filter(pk__in=ids)
    return learnings.update(
        success_rate=success_rate_sql(),
        confidence_score=confidence_sql(),
        decay_factor=decay_sql(now or timezone.now()),
    )


def learnings_set_active(*, ids: list[int], is_active: bool) -> int:
    """Deactivate (hide from the agent) or reactivate learnings; returns how many."""
    return Learning.objects.filter(pk__in=ids).update(
        is_active=is_active, updated_at=timezone.now()
    )


def learning_set_active(*, learning: Learning, is_active: bool) -> Learning:
    learnings_set_active(ids=[learning.pk], is_active=is_active)
    learning.is_active = is_active
    return learning


# --- extraction ---------------------------------------------------------------------------

# What each trait means, for the title and the guidance the agent reads.
TRAITS: dict[tuple[str, str], tuple[str, str]] = {
    ("length", "short"): (LearningCategory.LENGTH, "short (under 300 characters)"),
    ("length", "medium"): (LearningCategory.LENGTH, "of medium length (300–800 characters)"),
    ("length", "long"): (LearningCategory.LENGTH, "long (over 800 characters)"),
    ("time_of_day", "morning"): (LearningCategory.TIMING, "sent in the morning (05–12 UTC)"),
    ("time_of_day", "afternoon"): (LearningCategory.TIMING, "sent in the afternoon (12–17 UTC)"),
    ("time_of_day", "evening"): (LearningCategory.TIMING, "sent in the evening (17–22 UTC)"),
    ("time_of_day", "night"): (LearningCategory.TIMING, "sent at night (22–05 UTC)"),
    ("call_to_action", "meeting"): (
        LearningCategory.CALL_TO_ACTION,
        "ending with a concrete meeting ask (call, demo, calendar)",
    ),
    ("call_to_action", "question"): (
        LearningCategory.CALL_TO_ACTION,
        "asking the customer a question",
    ),
    ("call_to_action", "none"): (LearningCategory.CALL_TO_ACTION, "free of any explicit ask"),
    ("formality", "formal"): (
        LearningCategory.PERSONA,
        "written by a formal persona (formal ↔ casual < 40)",
    ),
    ("formality", "casual"): (
        LearningCategory.PERSONA,
        "written by a casual persona (formal ↔ casual > 60)",
    ),
    ("formality", "balanced"): (
        LearningCategory.PERSONA,
        "written by a balanced persona (formal ↔ casual 40–60)",
    ),
    ("detail", "concise"): (
        LearningCategory.PERSONA,
        "written by a concise persona (concise ↔ detailed < 40)",
    ),
    ("detail", "detailed"): (
        LearningCategory.PERSONA,
        "written by a detailed persona (concise ↔ detailed > 60)",
    ),
    ("detail", "balanced"): (
        LearningCategory.PERSONA,
        "written by a persona balanced between concise and detailed",
    ),
}

# Words too common to make a phrase worth learning.
STOPWORDS = (
    "the and for you your with that this are was have our not but from will can all "
    "its has had were been they them their there what when which who how about into "
    "dear best regards thanks thank hello kind"
).split()

# Labels an output good (mean normalised rating ≥ 0.6) or poor (≤ 0.4) from all its
# ratings: inline −1/0/+1 → 0/0.5/1, detailed 1–5 → 0..1. For each action type it counts,
# per trait, how many good and poor outputs have it; a trait is a learning when at least
# ``min_support`` good outputs share it and its share among good outputs exceeds its share
# among poor ones by ``min_lift``. Best value per trait (three best phrases) per action type.
EXTRACTION_SQL = r"""
WITH scored AS (
    SELECT o.id, o.action_type_id, o.output_text, o.occurred_at,
           c.formal_casual, c.concise_detailed,
           AVG(CASE WHEN f.kind = 'inline' THEN (f.rating + 1) / 2.0
                    ELSE (f.rating - 1) / 4.0 END) AS goodness
    FROM outcomes_outcomerecord o
    JOIN feedback_feedbackentry f ON f.outcome_id = o.id
    LEFT JOIN personas_clone c ON c.id = o.clone_id
    GROUP BY o.id, c.formal_casual, c.concise_detailed
), labelled AS (
    SELECT *, CASE WHEN goodness >= 0.6 THEN 'good' ELSE 'poor' END AS label
    FROM scored WHERE goodness >= 0.6 OR goodness <= 0.4
), words AS (
    SELECT l.id, l.action_type_id, l.label, w.word, w.position
    FROM labelled l,
         regexp_split_to_table(lower(l.output_text), '\s+') WITH ORDINALITY AS w(word, position)
    WHERE w.word <> ''
), bigrams AS (
    -- A phrase does not cross punctuation: "dana, quick" and "question: could" are not one.
    SELECT id, action_type_id, label, word,
           regexp_replace(next_word, '[[:punct:]]+$', '') AS next_word
    FROM (
        SELECT id, action_type_id, label, word,
               lead(word) OVER (PARTITION BY id ORDER BY position) AS next_word
        FROM words
    ) pairs
    WHERE word ~ '^[a-z'']{3,}$' AND next_word IS NOT NULL
), traits AS (
    SELECT id, action_type_id, label, 'length' AS dimension,
           CASE WHEN char_length(output_text) < 300 THEN 'short'
                WHEN char_length(output_text) <= 800 THEN 'medium' ELSE 'long' END AS value
    FROM labelled WHERE output_text <> ''
    UNION ALL
    SELECT id, action_type_id, label, 'time_of_day',
           CASE WHEN EXTRACT(HOUR FROM occurred_at AT TIME ZONE 'UTC') BETWEEN 5 AND 11 THEN 'morning'
                WHEN EXTRACT(HOUR FROM occurred_at AT TIME ZONE 'UTC') BETWEEN 12 AND 16 THEN 'afternoon'
                WHEN EXTRACT(HOUR FROM occurred_at AT TIME ZONE 'UTC') BETWEEN 17 AND 21 THEN 'evening'
                ELSE 'night' END
    FROM labelled
    UNION ALL
    SELECT id, action_type_id, label, 'call_to_action',
           CASE WHEN output_text ~* '\m(schedule|book|call|meeting|meet|demo|calendar)\M' THEN 'meeting'
                WHEN output_text ~ '\?' THEN 'question' ELSE 'none' END
    FROM labelled WHERE output_text <> ''
    UNION ALL
    SELECT id, action_type_id, label, 'formality',
           CASE WHEN formal_casual < 40 THEN 'formal' WHEN formal_casual > 60 THEN 'casual'
                ELSE 'balanced' END
    FROM labelled WHERE formal_casual IS NOT NULL
    UNION ALL
    SELECT id, action_type_id, label, 'detail',
           CASE WHEN concise_detailed < 40 THEN 'concise' WHEN concise_detailed > 60 THEN 'detailed'
                ELSE 'balanced' END
    FROM labelled WHERE concise_detailed IS NOT NULL
    UNION
    SELECT id, action_type_id, label, 'phrase', word || ' ' || next_word
    FROM bigrams
    WHERE next_word ~ '^[a-z'']{3,}$'
      AND NOT (word = ANY(%(stopwords)s)) AND NOT (next_word = ANY(%(stopwords)s))
), totals AS (
    SELECT action_type_id,
           COUNT(*) FILTER (WHERE label = 'good') AS good_total,
           COUNT(*) FILTER (WHERE label = 'poor') AS poor_total
    FROM labelled GROUP BY action_type_id
), counts AS (
    SELECT t.action_type_id, t.dimension, t.value,
           COUNT(DISTINCT t.id) FILTER (WHERE t.label = 'good') AS good_with,
           COUNT(DISTINCT t.id) FILTER (WHERE t.label = 'poor') AS poor_with,
           (array_agg(DISTINCT t.id) FILTER (WHERE t.label = 'good')) AS good_ids
    FROM traits t GROUP BY t.action_type_id, t.dimension, t.value
), ranked AS (
    SELECT c.*, s.good_total, s.poor_total,
           c.good_with::float / s.good_total - c.poor_with::float / s.poor_total AS lift,
           row_number() OVER (
               PARTITION BY c.action_type_id, c.dimension
               ORDER BY c.good_with::float / s.good_total - c.poor_with::float / s.poor_total DESC,
                        c.good_with DESC, c.value
           ) AS place
    FROM counts c JOIN totals s ON s.action_type_id = c.action_type_id
    WHERE s.good_total >= %(min_group)s AND s.poor_total >= %(min_group)s
      AND c.good_with >= %(min_support)s
)
SELECT r.action_type_id, a.code, a.name, r.dimension, r.value, r.good_with, r.poor_with,
       r.good_total, r.poor_total, r.lift, r.good_ids[1:%(max_sources)s]
FROM ranked r JOIN outcomes_actiontype a ON a.id = r.action_type_id
WHERE r.lift >= %(min_lift)s AND r.place <= CASE WHEN r.dimension = 'phrase' THEN 3 ELSE 1 END
ORDER BY a.code, r.lift DESC
"""


@dataclass(frozen=True)
class ExtractionResult:
    found: int
    created: int
    outcomes_linked: int

    def __str__(self) -> str:
        return f"{self.found} learnings found ({self.created} new), {self.outcomes_linked} source links"


def _describe(dimension: str, value: str) -> tuple[str, str]:
    if dimension == "phrase":
        return LearningCategory.PHRASING, f"using the phrase “{value}”"
    return TRAITS.get((dimension, value), (LearningCategory.GENERAL, f"{dimension} = {value}"))


def learnings_extract(
    *,
    now: datetime | None = None,
    min_group: int = 3,
    min_support: int = 3,
    min_lift: float = 0.3,
    max_sources: int = 25,
) -> ExtractionResult:
    """Find what well-rated outputs of each action type share that poorly rated ones don't.

    Each finding is upserted as a Learning keyed by ``<action type>:<trait>:<value>``
    with its evidence; re-running refreshes the evidence and keeps counters of use.
    """
    now = now or timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            EXTRACTION_SQL,
            {
                "stopwords": STOPWORDS,
                "min_group": min_group,
                "min_support": min_support,
                "min_lift": min_lift,
                "max_sources": max_sources,
            },
        )
        rows = cursor.fetchall()
    found: list[Learning] = []
    sources: dict[str, list[int]] = {}
    for (
        action_type_id,
        code,
        name,
        dimension,
        value,
        good_with,
        poor_with,
        good_total,
        poor_total,
        lift,
        good_ids,
    ) in rows:
        category, description = _describe(dimension, value)
        signature = f"{code}:{dimension}:{value}"
        sources[signature] = list(good_ids or [])
        found.append(
            Learning(
                signature=signature,
                title=f"{name}: {description}"[:200],
                category=category,
                guidance=(
                    f"For {name.lower()}, prefer outputs {description}. "
                    f"{good_with} of {good_total} well-rated outputs were, "
                    f"against {poor_with} of {poor_total} poorly rated ones."
                ),
                action_type_id=action_type_id,
                evidence={
                    "dimension": dimension,
                    "value": value,
                    "good_with": good_with,
                    "good_total": good_total,
                    "poor_with": poor_with,
                    "poor_total": poor_total,
                    "lift": round(lift, 4),
                },
                relevance_score=round(min(1.0, max(0.0, lift)), 4),
                evidence_positive=good_with,
                evidence_total=good_with + poor_with,
                extracted_at=now,
            )
        )
    with transaction.atomic():
        existing = set(
            Learning.objects.filter(signature__in=sources).values_list("signature", flat=True)
        )
        saved = Learning.objects.bulk_create(
            found,
            update_conflicts=True,
            unique_fields=["signature"],
            update_fields=[
                "title",
                "guidance",
                "evidence",
                "relevance_score",
                "evidence_positive",
                "evidence_total",
                "extracted_at",
                "updated_at",
            ],
        )
        through = Learning.source_outcomes.through
        links = through.objects.bulk_create(
            [
                through(learning_id=learning.pk, outcomerecord_id=outcome_id)
                for learning in saved
                for outcome_id in sources[learning.signature]
            ],
            ignore_conflicts=True,
        )
        learnings_refresh_scores(now=now)
    return ExtractionResult(
        found=len(found), created=len(set(sources) - existing), outcomes_linked=len(links)
    )
