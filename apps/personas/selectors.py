"""Reads for personas: which clones a user sees, version history with outcome figures."""

from __future__ import annotations

from datetime import UTC, datetime

from django.core.exceptions import PermissionDenied
from django.db.models import (
    DateTimeField,
    F,
    FloatField,
    Func,
    OuterRef,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce
from django.http import Http404

from apps.agents.models import SLIDERS, Clone
from apps.feedback.models import FeedbackEntry, FeedbackKind
from apps.outcomes.models import DECIDED_STATUSES, OutcomeRecord
from apps.personas.models import PersonaVersion
from apps.personas.rendering import SLIDER_LABELS
from apps.users.roles import can, sees_only_own

POSITIVE_SCORE = 0.5
_FAR_FUTURE = datetime(9999, 1, 1, tzinfo=UTC)


def clones_visible_to(user) -> QuerySet[Clone]:
    """Reps see the clones they own; everyone else allowed to read personas sees all."""
    clones = Clone.objects.select_related("owner", "region")
    if not can(user, "personas.read"):
        return clones.none()
    if sees_only_own(user):
        return clones.filter(owner=user)
    return clones


def clone_can_edit(user, clone: Clone) -> bool:
    if can(user, "personas.edit"):
        return True
    return can(user, "personas.edit_own") and getattr(user, "pk", None) == clone.owner_id


def clone_get_for(user, external_id: str, *, edit: bool = False) -> Clone:
    """The clone a user may see (404 otherwise) and, with ``edit``, may change (403)."""
    clone = clones_visible_to(user).filter(external_id=external_id).first()
    if clone is None:
        raise Http404("No such clone.")
    if edit and not clone_can_edit(user, clone):
        raise PermissionDenied("Your role is not allowed to change this persona.")
    return clone


def clone_current_version(clone: Clone) -> int:
    """The version number of the clone's current settings (1 before the first edit)."""
    latest = clone.versions.order_by("-number").values_list("number", flat=True).first()
    return latest or 1


def persona_versions_with_outcomes(clone: Clone) -> list[PersonaVersion]:
    """The clone's versions, newest first, each with what happened while it was live.

    A version is live from its ``created_at`` until the next version's. Each version gets
    ``outcome_count``, ``decided_count`` (resolved or expired), ``positive_count`` (score
    ≥ 0.5), ``success_rate`` (positive / decided, or None), and from detailed feedback
    ``rating_count`` and ``mean_rating`` (1-5, or None). One query.
    """
    next_started = (
        PersonaVersion.objects.filter(clone=OuterRef("clone"), number__gt=OuterRef("number"))
        .order_by("number")
        .values("created_at")[:1]
    )
    outcomes = OutcomeRecord.objects.filter(
        clone=OuterRef("clone"),
        occurred_at__gte=OuterRef("created_at"),
        occurred_at__lt=OuterRef("live_until"),
    )

    def count_of(queryset) -> Subquery:
        counted = queryset.order_by().annotate(n=Func(F("pk"), function="COUNT")).values("n")
        return Coalesce(Subquery(counted), Value(0))

    decided = outcomes.filter(status__in=DECIDED_STATUSES)
    ratings = FeedbackEntry.objects.filter(
        kind=FeedbackKind.DASHBOARD,
        outcome__clone=OuterRef("clone"),
        outcome__occurred_at__gte=OuterRef("created_at"),
        outcome__occurred_at__lt=OuterRef("live_until"),
    ).order_by()
    mean_rating = ratings.annotate(mean=Func(F("rating"), function="AVG")).values("mean")
    versions = list(
        clone.versions.select_related("created_by", "region")
        .annotate(
            live_until=Coalesce(
                Subquery(next_started), Value(_FAR_FUTURE, output_field=DateTimeField())
            )
        )
        .annotate(
            outcome_count=count_of(outcomes),
            decided_count=count_of(decided),
            positive_count=count_of(decided.filter(score__gte=POSITIVE_SCORE)),
            rating_count=count_of(ratings),
            mean_rating=Subquery(mean_rating, output_field=FloatField()),
        )
        .order_by("-number")
    )
    for version in versions:
        version.success_rate = (
            version.positive_count / version.decided_count if version.decided_count else None
        )
        version.is_live = version.live_until == _FAR_FUTURE
    return versions


def _describe(version: PersonaVersion, previous: PersonaVersion) -> list[str]:
    changes = []
    for slider in SLIDERS:
        before, after = getattr(previous, slider), getattr(version, slider)
        if before != after:
            left, right = SLIDER_LABELS[slider]
            leaning = right if after > before else left
            changes.append(f"{left} ↔ {right}: {before} → {after} (more {leaning.lower()})")
    if previous.region_id != version.region_id:
        before = previous.region.name if previous.region else "no region"
        after = version.region.name if version.region else "no region"
        changes.append(f"Region: {before} → {after}")
    if previous.custom_instructions != version.custom_instructions:
        if not version.custom_instructions:
            changes.append("Custom instructions removed")
        elif not previous.custom_instructions:
            changes.append("Custom instructions added")
        else:
            changes.append("Custom instructions edited")
    return changes


def persona_history(clone: Clone) -> list[PersonaVersion]:
    """Versions newest first, with outcome figures and ``changes`` against the one before."""
    versions = persona_versions_with_outcomes(clone)
    for version, previous in zip(versions, versions[1:], strict=False):
        version.changes = _describe(version, previous)
    if versions:
        versions[-1].changes = []
    return versions
