"""Reads for feedback and learnings: the review feed, distributions, rankings, exports."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from django.db.models import (
    Avg,
    Case,
    Count,
    F,
    FloatField,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    When,
)
from django.db.models.expressions import ExpressionWrapper
from django.shortcuts import get_object_or_404
from django.utils import timezone

from apps.feedback.models import FeedbackEntry, FeedbackKind, Learning
from apps.feedback.scoring import decay_sql
from apps.outcomes.models import OutcomeRecord
from apps.outcomes.selectors import outcomes_visible_to


def outcome_for_rating(user, pk: int) -> OutcomeRecord:
    """The one place that decides whether ``user`` may rate this output: else 404."""
    return get_object_or_404(
        with_my_ratings(outcomes_visible_to(user), user).select_related(
            "action_type", "account", "clone"
        ),
        pk=pk,
    )


def with_my_ratings(outcomes: QuerySet[OutcomeRecord], user) -> QuerySet[OutcomeRecord]:
    """Annotate ``my_inline_rating`` and ``my_dashboard_rating`` (None when not rated).

    Use it on any outcome list that shows the rating partial, so rows need no extra query.
    """
    mine = FeedbackEntry.objects.filter(outcome=OuterRef("pk"), user=user)
    return outcomes.annotate(
        my_inline_rating=Subquery(
            mine.filter(kind=FeedbackKind.INLINE).values("rating")[:1],
            output_field=IntegerField(),
        ),
        my_dashboard_rating=Subquery(
            mine.filter(kind=FeedbackKind.DASHBOARD).values("rating")[:1],
            output_field=IntegerField(),
        ),
    )


def review_feed(
    user,
    *,
    status: str = "",
    action_type: str = "",
    rated: str = "",
) -> QuerySet[OutcomeRecord]:
    """A person's "to review" feed: recent outputs they may rate, unrated first."""
    outcomes = with_my_ratings(outcomes_visible_to(user), user).select_related(
        "action_type", "account", "clone"
    )
    if status:
        outcomes = outcomes.filter(status=status)
    if action_type:
        outcomes = outcomes.filter(action_type__code=action_type)
    if rated == "unrated":
        outcomes = outcomes.filter(my_inline_rating__isnull=True, my_dashboard_rating__isnull=True)
    elif rated == "rated":
        outcomes = outcomes.filter(
            Q(my_inline_rating__isnull=False) | Q(my_dashboard_rating__isnull=False)
        )
    return outcomes.annotate(
        is_rated=Case(
            When(my_inline_rating__isnull=True, my_dashboard_rating__isnull=True, then=0),
            default=1,
            output_field=IntegerField(),
        )
    ).order_by("is_rated", "-occurred_at", "-pk")


def _distribution(group_by: list[str], since: datetime) -> list[dict]:
    entries = FeedbackEntry.objects.filter(updated_at__gte=since)
    inline = Q(kind=FeedbackKind.INLINE)
    detailed = Q(kind=FeedbackKind.DASHBOARD)
    return list(
        entries.values(*group_by)
        .annotate(
            negative=Count("pk", filter=inline & Q(rating=-1)),
            neutral=Count("pk", filter=inline & Q(rating=0)),
            positive=Count("pk", filter=inline & Q(rating=1)),
            detailed=Count("pk", filter=detailed),
            detailed_average=Avg("rating", filter=detailed),
            outcomes=Count("outcome", distinct=True),
        )
        .order_by(*group_by)
    )


def _with_shares(rows: list[dict], name_key: str) -> list[dict]:
    for row in rows:
        row["name"] = row[name_key]
        inline_total = row["negative"] + row["neutral"] + row["positive"]
        row["inline_total"] = inline_total
        for key in ("negative", "neutral", "positive"):
            row[f"{key}_pct"] = round(100 * row[key] / inline_total) if inline_total else 0
        row["net"] = (
            round((row["positive"] - row["negative"]) / inline_total, 2) if inline_total else None
        )
    return rows


def feedback_summary(*, days: int = 30, now: datetime | None = None) -> dict:
    """Distribution per action type and per clone, and the latest comments."""
    since = (now or timezone.now()) - timezone.timedelta(days=days)
    latest_comments = list(
        FeedbackEntry.objects.filter(updated_at__gte=since)
        .exclude(comment="")
        .select_related("user", "outcome__action_type", "outcome__account", "outcome__clone")
        .order_by("-updated_at")[:10]
    )
    by_action = _with_shares(
        _distribution(["outcome__action_type__code", "outcome__action_type__name"], since),
        "outcome__action_type__name",
    )
    by_clone = _with_shares(_distribution(["outcome__clone__name"], since), "outcome__clone__name")
    totals = FeedbackEntry.objects.filter(updated_at__gte=since).aggregate(
        entries=Count("pk"),
        raters=Count("user", distinct=True),
        positive=Count("pk", filter=Q(kind=FeedbackKind.INLINE, rating=1)),
        inline=Count("pk", filter=Q(kind=FeedbackKind.INLINE)),
        detailed_average=Avg("rating", filter=Q(kind=FeedbackKind.DASHBOARD)),
    )
    totals["positive_pct"] = (
        round(100 * totals["positive"] / totals["inline"]) if totals["inline"] else None
    )
    return {
        "since": since,
        "by_action_type": by_action,
        "by_clone": by_clone,
        "latest_comments": latest_comments,
        "totals": totals,
    }


def learnings_ranked(
    *,
    action_type: str = "",
    category: str = "",
    active: bool | None = True,
    now: datetime | None = None,
) -> QuerySet[Learning]:
    """Learnings ranked by relevance × confidence × decay (decay computed at ``now``)."""
    learnings = Learning.objects.select_related("action_type").annotate(
        current_decay=ExpressionWrapper(decay_sql(now or timezone.now()), FloatField())
    )
    learnings = learnings.annotate(
        rank=ExpressionWrapper(
            F("relevance_score") * F("confidence_score") * F("current_decay"),
            output_field=FloatField(),
        )
    )
    if active is not None:
        learnings = learnings.filter(is_active=active)
    if action_type:
        learnings = learnings.filter(Q(action_type__code=action_type) | Q(action_type__isnull=True))
    if category:
        learnings = learnings.filter(category=category)
    return learnings.order_by("-rank", "-confidence_score", "pk")


EXPORT_FIELDS = [
    "feedback_id",
    "kind",
    "rating",
    "comment",
    "usefulness",
    "quality",
    "clarity",
    "likelihood_to_reuse",
    "would_recommend",
    "rated_by",
    "rated_at",
    "outcome_id",
    "outcome_external_id",
    "action_type",
    "account",
    "clone",
    "predicted_confidence",
    "outcome_status",
    "outcome_score",
    "occurred_at",
    "output_text",
]
_EXPORT_SOURCES = [
    "pk",
    "kind",
    "rating",
    "comment",
    "usefulness",
    "quality",
    "clarity",
    "likelihood_to_reuse",
    "would_recommend",
    "user__username",
    "updated_at",
    "outcome_id",
    "outcome__external_id",
    "outcome__action_type__code",
    "outcome__account__external_id",
    "outcome__clone__external_id",
    "outcome__predicted_confidence",
    "outcome__status",
    "outcome__score",
    "outcome__occurred_at",
    "outcome__output_text",
]


def feedback_export_rows(
    *, since: datetime | None = None, action_type: str = "", kind: str = ""
) -> Iterator[dict]:
    """Every feedback entry with its outcome, oldest first, read in chunks from a cursor."""
    entries = FeedbackEntry.objects.order_by("pk")
    if since is not None:
        entries = entries.filter(updated_at__gte=since)
    if action_type:
        entries = entries.filter(outcome__action_type__code=action_type)
    if kind:
        entries = entries.filter(kind=kind)
    for values in entries.values_list(*_EXPORT_SOURCES).iterator(chunk_size=2000):
        yield dict(zip(EXPORT_FIELDS, values, strict=True))
