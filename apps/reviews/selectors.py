"""Reads of reviews: visibility, the next item, progress, agreement, examples, the dataset.

Scores live in two tables: ``Score`` (custom rubrics, and every automated score) and, for
people's scores on the two built-in rubrics, ``FeedbackEntry``. ``_all_scores_sql`` is the
one statement that unites them; every read of scores goes through it.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import combinations

from django.db import connection
from django.db.models import Count, Exists, F, Max, OuterRef, Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from apps.crm.models import Account, Deal, Interaction
from apps.feedback.models import FeedbackEntry
from apps.outcomes.models import ActionType, OutcomeRecord
from apps.reviews import models
from apps.reviews.agreement import INTERVAL, NOMINAL, krippendorff_alpha
from apps.users.models import User
from apps.users.roles import can
from apps.web.replica import read_connection

# An output whose mean normalised score (0 = a rubric's minimum, 1 = its maximum) reaches
# this is a high-scored output, an example for the agent.
HIGH_SCORE = 0.8
EXAMPLES_MAX = 50

_Clone = OutcomeRecord._meta.get_field("clone").related_model
_PersonaVersion = _Clone._meta.get_field("versions").related_model


def _t(model) -> str:
    return model._meta.db_table


# --- Visibility ----------------------------------------------------------------------


def queues_visible_to(user) -> QuerySet[models.ReviewQueue]:
    """The one rule: managers see every queue; anyone else only queues assigned to them
    (by name or by role)."""
    queues = models.ReviewQueue.objects.all()
    if can(user, "reviews.manage"):
        return queues
    if not can(user, "reviews.review"):
        return queues.none()
    return queues.filter(Q(reviewers=user) | Q(reviewer_roles__contains=[user.role])).distinct()


def _assigned(user, *, by_name: bool, roles: list[str]) -> bool:
    """The assignment rule: named as a reviewer, or holding one of the queue's roles."""
    return can(user, "reviews.review") and (by_name or user.role in roles)


def queue_is_assigned(queue: models.ReviewQueue, user) -> bool:
    """Whether ``user`` reviews in ``queue`` (managers too only when assigned)."""
    by_name = queue.reviewers.filter(pk=getattr(user, "pk", None)).exists()
    return _assigned(user, by_name=by_name, roles=queue.reviewer_roles)


def queue_for(user, pk: int) -> models.ReviewQueue:
    return get_object_or_404(queues_visible_to(user), pk=pk)


# --- Scores --------------------------------------------------------------------------


def _all_scores_sql() -> str:
    """Every score: the Score table and people's built-in ratings (FeedbackEntry)."""
    return f"""
        SELECT s.outcome_id, s.rubric_id, s.user_id, s.value, s.source, s.evaluator,
               s.updated_at
          FROM {_t(models.Score)} s
        UNION ALL
        SELECT f.outcome_id, r.id, f.user_id, f.rating::float8, '{models.ScoreSource.HUMAN}', '',
               f.updated_at
          FROM {_t(FeedbackEntry)} f JOIN {_t(models.Rubric)} r ON r.builtin = f.kind
    """


def _item_scores_sql(where: str) -> str:
    """The scores the item's reviewers gave on the queue's rubrics (one row each)."""
    rubrics = models.ReviewQueue.rubrics.through._meta.db_table
    return f"""
        SELECT i.id AS item_id, i.queue_id, sc.rubric_id, rv.reviewer_id, sc.value
          FROM {_t(models.ReviewItem)} i
          JOIN {_t(models.Review)} rv ON rv.item_id = i.id AND rv.status = '{models.ReviewStatus.DONE}'
          JOIN {rubrics} qr ON qr.reviewqueue_id = i.queue_id
          JOIN ({_all_scores_sql()}) sc
            ON sc.outcome_id = i.outcome_id AND sc.rubric_id = qr.rubric_id
           AND sc.user_id = rv.reviewer_id
         WHERE {where}
    """


# How far apart an item's reviewers are on a rubric, 0 (all agree) to 1 (as far as the
# scale allows; any two different labels or yes/no): the one statement of disagreement.
_SPREAD_SQL = f"""
    CASE WHEN r.kind = '{models.RubricKind.NUMERIC}'
         THEN (max(v.value) - min(v.value)) / (r.max_value - r.min_value)
         ELSE CASE WHEN max(v.value) <> min(v.value) THEN 1.0 ELSE 0.0 END END
"""


def _item_value_sql() -> str:
    """The item's score on a rubric: the settled value, else the reviewers' mean (the most
    frequent label for categorical rubrics)."""
    return f"""
        COALESCE(
            (SELECT st.value FROM {_t(models.Settlement)} st
              WHERE st.item_id = v.item_id AND st.rubric_id = v.rubric_id),
            CASE WHEN r.kind = '{models.RubricKind.CATEGORICAL}'
                 THEN mode() WITHIN GROUP (ORDER BY v.value) ELSE avg(v.value) END)
    """


# --- The reviewer's flow -------------------------------------------------------------


def item_queryset() -> QuerySet[models.ReviewItem]:
    """Items with everything a reviewer sees: output, account, deal, clone, the customer's
    reply (the signal that resolved it) and the persona version in force at the time."""
    return models.ReviewItem.objects.select_related(
        "queue",
        "outcome__action_type",
        "outcome__account",
        "outcome__deal",
        "outcome__clone",
        "outcome__resolving_interaction",
    ).annotate(
        persona_version=Max(
            "outcome__clone__versions__number",
            filter=Q(outcome__clone__versions__created_at__lte=F("outcome__occurred_at")),
        )
    )


def next_item(queue: models.ReviewQueue, user: User) -> models.ReviewItem | None:
    """The next item for ``user``: not yet passed by them (reviewed or skipped) and still
    short of its K reviews; partly reviewed items first, then oldest."""
    mine = models.Review.objects.filter(reviewer=user).values("item_id")
    return (
        item_queryset()
        .filter(queue=queue, reviews_done__lt=queue.reviews_needed)
        .exclude(pk__in=mine)
        .order_by("-reviews_done", "id")
        .first()
    )


def item_for_reviewer(queue: models.ReviewQueue, pk: int) -> models.ReviewItem:
    return get_object_or_404(item_queryset().filter(queue=queue), pk=pk)


@dataclass(frozen=True)
class Progress:
    items: int
    complete: int
    reviews: int
    mine: int
    my_remaining: int

    @property
    def percent(self) -> int:
        return round(100 * self.complete / self.items) if self.items else 0


def queue_progress(queue: models.ReviewQueue, user: User | None = None) -> Progress:
    """Done / total items, and reviews by the team and by ``user`` (one query)."""
    user_id = user.pk if user is not None else None
    counts = models.ReviewItem.objects.filter(queue=queue).aggregate(
        items=Count("id", distinct=True),
        complete=Count("id", filter=Q(reviews_done__gte=queue.reviews_needed), distinct=True),
        team_reviews=Count("reviews", filter=Q(reviews__status=models.ReviewStatus.DONE)),
        my_reviews=Count(
            "reviews",
            filter=Q(reviews__status=models.ReviewStatus.DONE, reviews__reviewer_id=user_id),
        ),
    )
    open_items = models.ReviewItem.objects.filter(
        queue=queue, reviews_done__lt=queue.reviews_needed
    ).exclude(reviews__reviewer_id=user_id)
    return Progress(
        items=counts["items"],
        complete=counts["complete"],
        reviews=counts["team_reviews"],
        mine=counts["my_reviews"],
        my_remaining=open_items.count() if user is not None else 0,
    )


def queues_with_progress(user) -> list[models.ReviewQueue]:
    """The queues ``user`` sees, each with item and review counts (one query)."""
    queues = (
        queues_visible_to(user)
        .annotate(
            item_count=Count("items", distinct=True),
            complete_count=Count(
                "items", filter=Q(items__reviews_done__gte=F("reviews_needed")), distinct=True
            ),
        )
        .order_by("-is_active", "name")
    )
    assigned_by_name = models.ReviewQueue.reviewers.through.objects.filter(
        reviewqueue_id=OuterRef("pk"), user_id=user.pk
    )
    queues = list(queues.annotate(assigned_by_name=Exists(assigned_by_name)))
    for queue in queues:
        queue.percent = (
            round(100 * queue.complete_count / queue.item_count) if queue.item_count else 0
        )
        queue.is_assigned = _assigned(
            user, by_name=queue.assigned_by_name, roles=queue.reviewer_roles
        )
    return queues


# --- The manager's view ----------------------------------------------------------------


def reviewer_throughput(queue: models.ReviewQueue, *, now: datetime | None = None) -> list[dict]:
    """Per reviewer: reviews, skips, reviews in the last 7 days, last review (one query)."""
    week_ago = (now or timezone.now()) - timedelta(days=7)
    rows = (
        models.Review.objects.filter(item__queue=queue)
        .values("reviewer__username", "reviewer__first_name", "reviewer__last_name")
        .annotate(
            reviewed=Count("id", filter=Q(status=models.ReviewStatus.DONE)),
            skipped=Count("id", filter=Q(status=models.ReviewStatus.SKIPPED)),
            last_week=Count(
                "id", filter=Q(status=models.ReviewStatus.DONE, created_at__gte=week_ago)
            ),
            last_at=Max("created_at"),
        )
        .order_by("-reviewed", "reviewer__username")
    )
    return list(rows)


DISAGREEMENTS_SHOWN = 50


def disagreements(queue: models.ReviewQueue, *, limit: int = DISAGREEMENTS_SHOWN) -> list[dict]:
    """Items whose reviewers are further apart than the queue's threshold on a rubric,
    unsettled first (one query)."""
    sql = f"""
        WITH v AS ({_item_scores_sql("i.queue_id = %(queue)s")})
        SELECT * FROM (
        SELECT v.item_id, v.rubric_id, r.name, {_SPREAD_SQL} AS spread,
               array_agg(v.value ORDER BY v.reviewer_id) AS vals,
               array_agg(u.username ORDER BY v.reviewer_id) AS reviewers,
               (SELECT st.value FROM {_t(models.Settlement)} st
                 WHERE st.item_id = v.item_id AND st.rubric_id = v.rubric_id) AS settled,
               o.id, o.external_id, a.name
          FROM v
          JOIN {_t(models.Rubric)} r ON r.id = v.rubric_id
          JOIN {_t(User)} u ON u.id = v.reviewer_id
          JOIN {_t(models.ReviewItem)} i ON i.id = v.item_id
          JOIN {_t(OutcomeRecord)} o ON o.id = i.outcome_id
          JOIN {_t(Account)} a ON a.id = o.account_id
         GROUP BY v.item_id, v.rubric_id, r.name, r.kind, r.max_value, r.min_value,
                  o.id, o.external_id, a.name
        HAVING count(*) >= 2 AND {_SPREAD_SQL} > %(threshold)s
        ) disagreeing
         ORDER BY settled IS NOT NULL, spread DESC, item_id, rubric_id
         LIMIT %(limit)s
    """
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            {"queue": queue.pk, "threshold": queue.disagreement_threshold, "limit": limit},
        )
        rows = cursor.fetchall()
    keys = ["item_id", "rubric_id", "rubric", "spread", "values", "reviewers", "settled"]
    keys += ["outcome_id", "outcome", "account"]
    return [dict(zip(keys, row, strict=True)) for row in rows]


_LEVELS = {models.RubricKind.NUMERIC: INTERVAL, models.RubricKind.CATEGORICAL: NOMINAL}


def rubric_level(rubric: models.Rubric) -> str:
    """Alpha's level of measurement: interval for numeric rubrics, nominal for labels
    and yes/no (ordinal where a categorical rubric's labels are ordered is not modelled)."""
    return _LEVELS.get(rubric.kind, NOMINAL)


def queue_agreement(queue: models.ReviewQueue) -> dict:
    """Krippendorff's alpha per rubric over items with 2+ reviews, and per reviewer pair
    (one query; alpha is computed from the fetched values)."""
    sql = f"""
        SELECT v.item_id, v.rubric_id, u.username, v.value
          FROM ({_item_scores_sql("i.queue_id = %(queue)s AND i.reviews_done >= 2")}) v
          JOIN {_t(User)} u ON u.id = v.reviewer_id
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, {"queue": queue.pk})
        rows = cursor.fetchall()
    rubrics = {rubric.pk: rubric for rubric in queue.rubrics.all()}
    values: dict[int, dict[int, dict[str, float]]] = defaultdict(lambda: defaultdict(dict))
    for item_id, rubric_id, username, value in rows:
        values[rubric_id][item_id][username] = value
    per_rubric, per_pair = [], []
    for rubric_id, items in values.items():
        rubric = rubrics[rubric_id]
        level = rubric_level(rubric)
        units = [list(by_reviewer.values()) for by_reviewer in items.values()]
        per_rubric.append(
            {
                "rubric": rubric.name,
                "level": level,
                "items": sum(1 for unit in units if len(unit) >= 2),
                "alpha": krippendorff_alpha(units, level),
            }
        )
        reviewers = sorted({name for by_reviewer in items.values() for name in by_reviewer})
        for first, second in combinations(reviewers, 2):
            pairs = [
                [by_reviewer[first], by_reviewer[second]]
                for by_reviewer in items.values()
                if first in by_reviewer and second in by_reviewer
            ]
            if pairs:
                per_pair.append(
                    {
                        "rubric": rubric.name,
                        "reviewers": (first, second),
                        "items": len(pairs),
                        "alpha": krippendorff_alpha(pairs, level),
                    }
                )
    per_rubric.sort(key=lambda row: row["rubric"])
    per_pair.sort(key=lambda row: (row["rubric"], row["reviewers"]))
    return {"rubrics": per_rubric, "pairs": per_pair}


def recent_corrections(queue: models.ReviewQueue, limit: int = 10) -> QuerySet[models.Correction]:
    return (
        models.Correction.objects.filter(outcome__review_items__queue=queue)
        .select_related("author", "outcome__account")
        .order_by("-updated_at")[:limit]
    )


# --- Examples ------------------------------------------------------------------------


def _normalised_sql() -> str:
    return f"""
        CASE WHEN r.kind = '{models.RubricKind.NUMERIC}'
             THEN (sc.value - r.min_value) / (r.max_value - r.min_value)
             ELSE sc.value END
    """


def examples(*, action_type: str = "", clone: str = "", limit: int = 5) -> list[dict]:
    """The best few examples for few-shot prompting: corrections (a reviewer's, or an
    approver's edit of a proposed action, kind ``edit``) first, most recent first, then
    high-scored outputs (highest first, then most recent), one per output and per text
    (one query). An edit is an example of the action's type and clone, its output the
    agent's proposed text and ``action`` the action's external id."""
    sql = f"""
        WITH corrections AS (
            SELECT DISTINCT ON (coalesce(c.outcome_id::text, 'action:' || c.action_ref))
                   c.outcome_id, c.id AS correction_id, c.corrected_text AS ideal,
                   CASE WHEN c.action_ref <> '' THEN 'edit' ELSE 'correction' END AS kind,
                   NULL::float8 AS score, c.updated_at AS at, 0 AS rank
              FROM {_t(models.Correction)} c
             ORDER BY coalesce(c.outcome_id::text, 'action:' || c.action_ref),
                      c.updated_at DESC, c.id DESC
        ), high AS (
            SELECT sc.outcome_id, NULL::bigint AS correction_id, o.output_text AS ideal,
                   'high_score' AS kind, avg({_normalised_sql()}) AS score,
                   max(sc.updated_at) AS at, 1 AS rank
              FROM ({_all_scores_sql()}) sc
              JOIN {_t(models.Rubric)} r ON r.id = sc.rubric_id AND r.kind <> '{models.RubricKind.CATEGORICAL}'
              JOIN {_t(OutcomeRecord)} o ON o.id = sc.outcome_id
             WHERE o.output_text <> ''
               AND NOT EXISTS (SELECT 1 FROM corrections c WHERE c.outcome_id = sc.outcome_id)
             GROUP BY sc.outcome_id, o.output_text
            HAVING avg({_normalised_sql()}) >= %(high)s
        ), candidates AS (
            SELECT DISTINCT ON (md5(e.ideal)) e.*, o.external_id,
                   nullif(c.action_ref, '') AS action,
                   CASE WHEN c.action_ref <> '' THEN c.original_text
                        ELSE o.output_text END AS output_text,
                   CASE WHEN c.action_ref <> '' THEN c.action_type ELSE t.code END
                       AS action_type,
                   cl.external_id AS clone
              FROM (SELECT * FROM corrections UNION ALL SELECT * FROM high) e
              LEFT JOIN {_t(models.Correction)} c ON c.id = e.correction_id
              LEFT JOIN {_t(OutcomeRecord)} o ON o.id = e.outcome_id
              LEFT JOIN {_t(ActionType)} t ON t.id = o.action_type_id
              LEFT JOIN {_t(_Clone)} cl ON cl.id = coalesce(c.clone_id, o.clone_id)
             WHERE (%(action_type)s = ''
                    OR CASE WHEN c.action_ref <> '' THEN c.action_type ELSE t.code END
                       = %(action_type)s)
               AND (%(clone)s = '' OR cl.external_id = %(clone)s)
             ORDER BY md5(e.ideal), e.rank, e.score DESC NULLS LAST, e.at DESC
        )
        SELECT external_id, action, action_type, clone, kind, output_text, ideal, score, at
          FROM candidates
         ORDER BY rank, score DESC NULLS LAST, at DESC, coalesce(external_id, action)
         LIMIT %(limit)s
    """
    params = {
        "high": HIGH_SCORE,
        "action_type": action_type,
        "clone": clone,
        "limit": min(limit, EXAMPLES_MAX),
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    keys = ["outcome", "action", "action_type", "clone", "kind", "output", "ideal", "score", "at"]
    return [dict(zip(keys, row, strict=True)) for row in rows]


# --- Dataset export --------------------------------------------------------------------

DATASET_FIELDS = [
    "item",
    "queue",
    "outcome",
    "action_type",
    "account",
    "industry",
    "deal",
    "deal_stage",
    "clone",
    "persona_version",
    "occurred_at",
    "customer_reply",
    "output",
    "correction",
    "correction_diff",
    "scores",
    "item_scores",
]


def dataset_pages(
    *,
    queue: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    action_type: str = "",
    clone: str = "",
    chunk_size: int = 500,
) -> Iterator[list[dict]]:
    """One row per reviewed item, oldest first, in pages of ``chunk_size`` read through a
    server-side cursor: the context, the original output, the latest correction, every
    score (rubric, reviewer or evaluator, value) and the item's score per rubric (settled
    value where settled)."""
    rubrics = models.ReviewQueue.rubrics.through._meta.db_table
    sql = f"""
        SELECT i.id, q.name, o.external_id, t.code, a.name, a.industry, d.name, d.stage,
               cl.external_id,
               (SELECT max(pv.number) FROM {_t(_PersonaVersion)} pv
                 WHERE pv.clone_id = o.clone_id AND pv.created_at <= o.occurred_at),
               o.occurred_at, reply.summary,
               CASE WHEN corr.action_ref <> '' THEN corr.original_text ELSE o.output_text END,
               corr.corrected_text, corr.diff,
               (SELECT coalesce(jsonb_agg(jsonb_build_object(
                           'rubric', r.name, 'reviewer', u.username,
                           'evaluator', nullif(sc.evaluator, ''), 'source', sc.source,
                           'value', sc.value) ORDER BY r.name, u.username, sc.evaluator),
                       '[]'::jsonb)
                  FROM ({_all_scores_sql()}) sc
                  JOIN {rubrics} qr ON qr.rubric_id = sc.rubric_id AND qr.reviewqueue_id = q.id
                  JOIN {_t(models.Rubric)} r ON r.id = sc.rubric_id
                  LEFT JOIN {_t(User)} u ON u.id = sc.user_id
                 WHERE sc.outcome_id = o.id),
               (SELECT coalesce(jsonb_object_agg(g.name, g.value), '{{}}'::jsonb) FROM (
                    SELECT r.name, {_item_value_sql()} AS value
                      FROM ({_item_scores_sql("i.id = outer_item.id")}) v
                      JOIN {_t(models.Rubric)} r ON r.id = v.rubric_id
                     GROUP BY v.item_id, v.rubric_id, r.name, r.kind) g)
          FROM {_t(models.ReviewItem)} i
          JOIN {_t(models.ReviewItem)} outer_item ON outer_item.id = i.id
          JOIN {_t(models.ReviewQueue)} q ON q.id = i.queue_id
          JOIN {_t(OutcomeRecord)} o ON o.id = i.outcome_id
          JOIN {_t(ActionType)} t ON t.id = o.action_type_id
          JOIN {_t(Account)} a ON a.id = o.account_id
          LEFT JOIN {_t(Deal)} d ON d.id = o.deal_id
          LEFT JOIN {_t(_Clone)} cl ON cl.id = o.clone_id
          LEFT JOIN {_t(Interaction)} reply ON reply.id = o.resolving_interaction_id
          LEFT JOIN LATERAL (
                SELECT c.corrected_text, c.diff, c.action_ref, c.original_text
                  FROM {_t(models.Correction)} c
                 WHERE c.outcome_id = o.id ORDER BY c.updated_at DESC LIMIT 1) corr ON true
         WHERE i.reviews_done >= 1
           AND (%(queue)s::bigint IS NULL OR i.queue_id = %(queue)s::bigint)
           AND (%(since)s::timestamptz IS NULL OR o.occurred_at >= %(since)s::timestamptz)
           AND (%(until)s::timestamptz IS NULL OR o.occurred_at < %(until)s::timestamptz)
           AND (%(action_type)s = '' OR t.code = %(action_type)s)
           AND (%(clone)s = '' OR cl.external_id = %(clone)s)
         ORDER BY i.id
    """
    params = {
        "queue": queue,
        "since": since,
        "until": until,
        "action_type": action_type,
        "clone": clone,
    }
    with read_connection().chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(chunk_size):
            yield [_dataset_row(values) for values in rows]


def dataset_rows(**filters) -> Iterator[dict]:
    """The rows of ``dataset_pages(**filters)`` one by one."""
    for page in dataset_pages(**filters):
        yield from page


def _dataset_row(values: tuple) -> dict:
    row = dict(zip(DATASET_FIELDS, values, strict=True))
    # Django's PostgreSQL backend hands jsonb over as text (JSONField decodes it).
    row["scores"] = _json(row["scores"])
    row["item_scores"] = _json(row["item_scores"])
    return row


def _json(value):
    return json.loads(value) if isinstance(value, str) else value


def dataset_input_text(row: dict) -> str:
    """The context of an item as the prompt a model would have seen."""
    lines = [f"Action: {row['action_type']}", f"Account: {row['account']}"]
    if row["industry"]:
        lines.append(f"Industry: {row['industry']}")
    if row["deal"]:
        lines.append(f"Deal: {row['deal']} ({row['deal_stage']})")
    if row["clone"]:
        version = f" v{row['persona_version']}" if row["persona_version"] else ""
        lines.append(f"Persona: {row['clone']}{version}")
    if row["customer_reply"]:
        lines.append(f"Customer reply: {row['customer_reply']}")
    return "\n".join(lines)
