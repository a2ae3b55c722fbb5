"""Learning extraction: what the well-rated outputs of each action type share."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from apps.feedback.models import FeedbackEntry, FeedbackKind, Learning, LearningCategory
from apps.feedback.scoring import LIFT_Z
from apps.feedback.services.learnings import learnings_refresh_lift, learnings_refresh_scores
from apps.outcomes.models import OutcomeRecord

# --- traits: each stated once, for the SQL that finds it and the words that describe it ---

SHORT_BELOW = 300  # characters
LONG_ABOVE = 800
FORMAL_BELOW = 40  # formal ↔ casual slider
CASUAL_ABOVE = 60
CONCISE_BELOW = 40  # concise ↔ detailed slider
DETAILED_ABOVE = 60
MEETING_WORDS = ("schedule", "book", "call", "meeting", "meet", "demo", "calendar")
# Parts of the day in UTC hours, [start, end); the rest is night.
DAY_PARTS = (("morning", 5, 12), ("afternoon", 12, 17), ("evening", 17, 22))
NIGHT = ("night", DAY_PARTS[-1][2], DAY_PARTS[0][1])


@dataclass(frozen=True)
class Trait:
    """One value of a dimension: the SQL condition that finds it and what it means.

    ``condition`` is a boolean over the columns of a labelled output (``output_text``,
    ``hour``, ``formal_casual``, ``concise_detailed``); the first trait of a dimension whose
    condition holds is the output's value (the last one's condition is ``TRUE``).
    """

    dimension: str
    value: str
    category: str
    description: str
    condition: str


_MEETING_REGEX = r"\m(" + "|".join(MEETING_WORDS) + r")\M"

TRAITS: tuple[Trait, ...] = (
    Trait(
        "length",
        "short",
        LearningCategory.LENGTH,
        f"short (under {SHORT_BELOW} characters)",
        f"char_length(output_text) < {SHORT_BELOW}",
    ),
    Trait(
        "length",
        "medium",
        LearningCategory.LENGTH,
        f"of medium length ({SHORT_BELOW}–{LONG_ABOVE} characters)",
        f"char_length(output_text) <= {LONG_ABOVE}",
    ),
    Trait(
        "length", "long", LearningCategory.LENGTH, f"long (over {LONG_ABOVE} characters)", "TRUE"
    ),
    *(
        Trait(
            "time_of_day",
            name,
            LearningCategory.TIMING,
            f"sent in the {name} ({start:02d}–{end:02d} UTC)",
            f"hour >= {start} AND hour < {end}",
        )
        for name, start, end in DAY_PARTS
    ),
    Trait(
        "time_of_day",
        NIGHT[0],
        LearningCategory.TIMING,
        f"sent at night ({NIGHT[1]:02d}–{NIGHT[2]:02d} UTC)",
        "TRUE",
    ),
    Trait(
        "call_to_action",
        "meeting",
        LearningCategory.CALL_TO_ACTION,
        f"ending with a concrete meeting ask ({', '.join(MEETING_WORDS)})",
        f"output_text ~* '{_MEETING_REGEX}'",
    ),
    Trait(
        "call_to_action",
        "question",
        LearningCategory.CALL_TO_ACTION,
        "asking the customer a question",
        r"output_text ~ '\?'",
    ),
    Trait(
        "call_to_action",
        "none",
        LearningCategory.CALL_TO_ACTION,
        "free of any explicit ask",
        "TRUE",
    ),
    Trait(
        "formality",
        "formal",
        LearningCategory.PERSONA,
        f"written by a formal persona (formal ↔ casual < {FORMAL_BELOW})",
        f"formal_casual < {FORMAL_BELOW}",
    ),
    Trait(
        "formality",
        "casual",
        LearningCategory.PERSONA,
        f"written by a casual persona (formal ↔ casual > {CASUAL_ABOVE})",
        f"formal_casual > {CASUAL_ABOVE}",
    ),
    Trait(
        "formality",
        "balanced",
        LearningCategory.PERSONA,
        f"written by a balanced persona (formal ↔ casual {FORMAL_BELOW}–{CASUAL_ABOVE})",
        "TRUE",
    ),
    Trait(
        "detail",
        "concise",
        LearningCategory.PERSONA,
        f"written by a concise persona (concise ↔ detailed < {CONCISE_BELOW})",
        f"concise_detailed < {CONCISE_BELOW}",
    ),
    Trait(
        "detail",
        "detailed",
        LearningCategory.PERSONA,
        f"written by a detailed persona (concise ↔ detailed > {DETAILED_ABOVE})",
        f"concise_detailed > {DETAILED_ABOVE}",
    ),
    Trait(
        "detail",
        "balanced",
        LearningCategory.PERSONA,
        "written by a persona balanced between concise and detailed",
        "TRUE",
    ),
)
TRAITS_BY_KEY: dict[tuple[str, str], Trait] = {(t.dimension, t.value): t for t in TRAITS}

# Which outputs a dimension applies to at all.
_DIMENSION_GUARDS: dict[str, str] = {
    "length": "output_text <> ''",
    "time_of_day": "TRUE",
    "call_to_action": "output_text <> ''",
    "formality": "formal_casual IS NOT NULL",
    "detail": "concise_detailed IS NOT NULL",
}


def _traits_sql() -> str:
    """One SELECT per dimension: each labelled output with its value on that dimension."""
    selects = []
    for dimension, guard in _DIMENSION_GUARDS.items():
        cases = " ".join(
            f"WHEN {t.condition} THEN '{t.value}'" for t in TRAITS if t.dimension == dimension
        )
        selects.append(
            f"SELECT id, action_type_id, label, '{dimension}' AS dimension, "
            f"CASE {cases} END AS value FROM labelled WHERE {guard}"
        )
    return "\n    UNION ALL\n    ".join(selects)


# Words too common to make a phrase worth learning.
STOPWORDS = (
    "the and for you your with that this are was have our not but from will can all "
    "its has had were been they them their there what when which who how about into "
    "dear best regards thanks thank hello kind"
).split()

_OUTCOME_TABLE = OutcomeRecord._meta.db_table
_FEEDBACK_TABLE = FeedbackEntry._meta.db_table
_CLONE_TABLE = OutcomeRecord._meta.get_field("clone").related_model._meta.db_table
_ACTION_TYPE_TABLE = OutcomeRecord._meta.get_field("action_type").related_model._meta.db_table

# Labels an output good (mean normalised rating ≥ 0.6) or poor (≤ 0.4) from all its
# ratings: inline −1/0/+1 → 0/0.5/1, detailed 1–5 → 0..1. Shared by the two statements below.
_LABELLED_SQL = rf"""
WITH scored AS (
    SELECT o.id, o.action_type_id, o.output_text, o.occurred_at,
           EXTRACT(HOUR FROM o.occurred_at AT TIME ZONE 'UTC') AS hour,
           date_trunc('day', o.occurred_at AT TIME ZONE 'UTC') AS day,
           c.formal_casual, c.concise_detailed,
           AVG(CASE WHEN f.kind = %(inline)s THEN (f.rating + 1) / 2.0
                    ELSE (f.rating - 1) / 4.0 END) AS goodness
    FROM {_OUTCOME_TABLE} o
    JOIN {_FEEDBACK_TABLE} f ON f.outcome_id = o.id
    LEFT JOIN {_CLONE_TABLE} c ON c.id = o.clone_id
    WHERE o.deleted_at IS NULL
    GROUP BY o.id, c.formal_casual, c.concise_detailed
), labelled AS (
    SELECT *, CASE WHEN goodness >= 0.6 THEN 'good' ELSE 'poor' END AS label
    FROM scored WHERE goodness >= 0.6 OR goodness <= 0.4
)"""

# The action types with enough good and poor outputs to be judged at all.
EVALUATED_SQL = (
    _LABELLED_SQL
    + """
SELECT action_type_id FROM labelled GROUP BY action_type_id
HAVING COUNT(*) FILTER (WHERE label = 'good') >= %(min_group)s
   AND COUNT(*) FILTER (WHERE label = 'poor') >= %(min_group)s
"""
)

# For each action type and trait (``TRAITS``, plus two-word phrases) it compares the share
# of good outputs among those with the trait against those without, within each day
# (UTC) and pooled over days with Mantel–Haenszel weights n1·n0/(n1 + n0): what the agent
# did changed over time as it followed its learnings, so a trait it took up together with
# a good one must not borrow that one's success (comparing within a day, both groups were
# written under the same guidance). The 95 % interval of that pooled difference uses each
# stratum's share with one success and one failure added (as ``scoring.lift_interval``). A
# trait is a learning when at least ``min_support`` good outputs share it, its difference
# is at least ``min_lift`` and its interval's lower bound is above zero; best value per
# dimension (three best phrases) by that lower bound. SQL because it is one pass over every
# rated output; it only reads.
EXTRACTION_SQL = (
    _LABELLED_SQL
    + rf"""
, words AS (
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
    WHERE word ~ '^[a-z'']{{3,}}$' AND next_word IS NOT NULL
), traits AS (
    {_traits_sql()}
    UNION
    SELECT id, action_type_id, label, 'phrase', word || ' ' || next_word
    FROM bigrams
    WHERE next_word ~ '^[a-z'']{{3,}}$'
      AND NOT (word = ANY(%(stopwords)s)) AND NOT (next_word = ANY(%(stopwords)s))
), strata AS (
    SELECT action_type_id, day,
           COUNT(*) FILTER (WHERE label = 'good') AS good_s,
           COUNT(*) FILTER (WHERE label = 'poor') AS poor_s
    FROM labelled GROUP BY action_type_id, day
), totals AS (
    SELECT action_type_id, SUM(good_s)::int AS good_total, SUM(poor_s)::int AS poor_total
    FROM strata GROUP BY action_type_id
), counts AS (
    SELECT t.action_type_id, t.dimension, t.value,
           COUNT(DISTINCT t.id) FILTER (WHERE t.label = 'good') AS good_with,
           COUNT(DISTINCT t.id) FILTER (WHERE t.label = 'poor') AS poor_with,
           (array_agg(DISTINCT t.id) FILTER (WHERE t.label = 'good')) AS good_ids
    FROM traits t GROUP BY t.action_type_id, t.dimension, t.value
), per_stratum AS (
    -- With the trait: n1 outputs, x1 good; without it, the rest of the day's: n0, x0.
    SELECT t.action_type_id, t.dimension, t.value, s.good_s, s.poor_s,
           COUNT(*) AS n1, COUNT(*) FILTER (WHERE t.label = 'good') AS x1
    FROM traits t JOIN labelled l ON l.id = t.id
    JOIN strata s ON s.action_type_id = t.action_type_id AND s.day = l.day
    GROUP BY t.action_type_id, t.dimension, t.value, l.day, s.good_s, s.poor_s
), compared AS (
    SELECT action_type_id, dimension, value, n1::float AS n1, x1::float AS x1,
           (good_s + poor_s - n1)::float AS n0, (good_s - x1)::float AS x0
    FROM per_stratum WHERE good_s + poor_s > n1
), weighted AS (
    SELECT action_type_id, dimension, value, n1 * n0 / (n1 + n0) AS w,
           x1 / n1 - x0 / n0 AS difference,
           (x1 + 1) / (n1 + 2) AS p1, (x0 + 1) / (n0 + 2) AS p0, n1, n0
    FROM compared
), stratified AS (
    SELECT action_type_id, dimension, value,
           SUM(w * difference) / SUM(w) AS lift,
           sqrt(SUM(w * w * (p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0))) / SUM(w) AS error
    FROM weighted GROUP BY action_type_id, dimension, value
), ranked AS (
    SELECT c.*, s.good_total, s.poor_total, d.lift, d.lift - %(z)s * d.error AS lift_low,
           row_number() OVER (
               PARTITION BY c.action_type_id, c.dimension
               ORDER BY d.lift - %(z)s * d.error DESC, c.good_with DESC, c.value
           ) AS place
    FROM counts c JOIN totals s ON s.action_type_id = c.action_type_id
    JOIN stratified d ON d.action_type_id = c.action_type_id
     AND d.dimension = c.dimension AND d.value = c.value
    WHERE s.good_total >= %(min_group)s AND s.poor_total >= %(min_group)s
      AND c.good_with >= %(min_support)s
)
SELECT r.action_type_id, a.code, a.name, r.dimension, r.value, r.good_with, r.poor_with,
       r.good_total, r.poor_total, r.lift, r.lift_low, r.good_ids[1:%(max_sources)s]
FROM ranked r JOIN {_ACTION_TYPE_TABLE} a ON a.id = r.action_type_id
WHERE r.lift >= %(min_lift)s AND r.lift_low > 0
  AND r.place <= CASE WHEN r.dimension = 'phrase' THEN 3 ELSE 1 END
ORDER BY a.code, r.lift_low DESC
"""
)


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
    trait = TRAITS_BY_KEY.get((dimension, value))
    if trait is None:
        return LearningCategory.GENERAL, f"{dimension} = {value}"
    return trait.category, trait.description


def learnings_extract(
    *,
    now: datetime | None = None,
    min_group: int = 3,
    min_support: int = 3,
    min_lift: float = 0.1,
    max_sources: int = 25,
) -> ExtractionResult:
    """Find what well-rated outputs of each action type share that poorly rated ones don't.

    Each finding is upserted as a Learning keyed by ``<action type>:<trait>:<value>``
    with its evidence; its relevance is the lower bound of its lift's interval, so a trait
    backed by little evidence ranks below one backed by much. Re-running refreshes the
    evidence and keeps counters of use; an extracted learning of a judged action type
    that the evidence no longer supports drops to relevance 0 and leaves the agent's list
    (``selectors.AGENT_SEES``) until the evidence supports it again.
    """
    now = now or timezone.now()
    params = {
        "inline": FeedbackKind.INLINE,
        "stopwords": STOPWORDS,
        "min_group": min_group,
        "min_support": min_support,
        "min_lift": min_lift,
        "max_sources": max_sources,
        "z": LIFT_Z,
    }
    with connection.cursor() as cursor:
        cursor.execute(EXTRACTION_SQL, params)
        rows = cursor.fetchall()
        cursor.execute(EVALUATED_SQL, params)
        judged = [row[0] for row in cursor.fetchall()]
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
        lift_low,
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
                    "lift_low": round(lift_low, 4),
                },
                relevance_score=round(min(1.0, max(0.0, lift_low)), 4),
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
        # Found once, no longer supported: out of the agent's list, kept for history.
        Learning.objects.filter(
            extracted_at__isnull=False, action_type_id__in=judged, relevance_score__gt=0
        ).exclude(signature__in=sources).update(relevance_score=0, updated_at=now)
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
        learnings_refresh_lift(now=now)
    return ExtractionResult(
        found=len(found), created=len(set(sources) - existing), outcomes_linked=len(links)
    )
