"""Writes for feedback: rate an output, correct a rating, withdraw it."""

from __future__ import annotations

import functools

from django.core.exceptions import ValidationError
from django.db import connection, connections, transaction
from django.utils import timezone

from apps.feedback.models import (
    RATING_SCALES,
    AspectPolarity,
    ErrorCategory,
    FeedbackAspect,
    FeedbackEntry,
    FeedbackKind,
    FeedbackSource,
)
from apps.outcomes.models import OutcomeRecord
from apps.outcomes.selectors import VisibleOutcomeId
from apps.users.models import User

DIMENSIONS: dict[str, tuple[int, int]] = {
    "usefulness": (1, 5),
    "quality": (1, 5),
    "clarity": (1, 5),
    "likelihood_to_reuse": (1, 10),
}
MAX_FEATURE_REQUESTS = 10

# What only the detailed (dashboard) form carries, with its empty value.
DETAILED_FIELDS: dict[str, object] = {
    "usefulness": None,
    "quality": None,
    "clarity": None,
    "likelihood_to_reuse": None,
    "would_recommend": None,
    "positive_aspects": [],
    "negative_aspects": [],
    "positive_notes": "",
    "negative_notes": "",
    "feature_requests": [],
    "error_category": "",
    "error_details": "",
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
        if value in (None, "", []):
            continue
        if kind != FeedbackKind.DASHBOARD:
            errors[field] = "Only detailed (dashboard) feedback has this field."
        elif field in DIMENSIONS:
            dim_low, dim_high = DIMENSIONS[field]
            if not dim_low <= value <= dim_high:
                errors[field] = f"Must be between {dim_low} and {dim_high}."
        elif field == "error_category" and value not in ErrorCategory.values:
            errors[field] = f"Must be one of: {', '.join(ErrorCategory.values)}."
        elif field == "feature_requests" and len(value) > MAX_FEATURE_REQUESTS:
            errors[field] = f"At most {MAX_FEATURE_REQUESTS} feature requests."
    if errors:
        raise ValidationError(errors)


def _aspects(
    positive: list[str], negative: list[str], keep: set[str] = frozenset()
) -> list[FeedbackAspect]:
    """The aspects named by code, each checked against its list; unknown codes are errors.

    ``keep`` are codes the entry already carries: a retired aspect may stay on it.
    """
    wanted = {AspectPolarity.POSITIVE: set(positive), AspectPolarity.NEGATIVE: set(negative)}
    codes = wanted[AspectPolarity.POSITIVE] | wanted[AspectPolarity.NEGATIVE]
    if not codes:
        return []
    found = {aspect.code: aspect for aspect in FeedbackAspect.objects.filter(code__in=codes)}
    errors: dict[str, str] = {}
    for polarity, field in (
        (AspectPolarity.POSITIVE, "positive_aspects"),
        (AspectPolarity.NEGATIVE, "negative_aspects"),
    ):
        bad = sorted(
            code
            for code in wanted[polarity]
            if code not in found
            or found[code].polarity != polarity
            or not (found[code].is_active or code in keep)
        )
        if bad:
            errors[field] = f"Not a {polarity} aspect of this organisation: {', '.join(bad)}."
    if errors:
        raise ValidationError(errors)
    return list(found.values())


def _clean_requests(requests: list[str]) -> list[str]:
    return [text.strip() for text in requests if text and text.strip()]


def feedback_rate(
    *,
    user: User,
    outcome: OutcomeRecord | VisibleOutcomeId,
    kind: str,
    rating: int,
    comment: str = "",
    feedback_source: str = "",
    **detailed,
) -> tuple[FeedbackEntry, bool]:
    """Save ``user``'s rating of ``outcome``; rating again updates the same entry.

    Returns (entry, created). The caller has checked that the user may see the outcome, or
    passes the statement that checks it (``outcome_visible_id_later``): then this raises
    ``OutcomeRecord.DoesNotExist`` when the user may not, having written nothing.
    An inline rating changes only the rating; a detailed one replaces the whole form
    (``DETAILED_FIELDS``: dimensions, aspects, notes, feature requests, error context).
    """
    unknown = set(detailed) - set(DETAILED_FIELDS)
    if unknown:
        raise TypeError(f"Unknown feedback fields: {', '.join(sorted(unknown))}")
    values = DETAILED_FIELDS | detailed
    values["feature_requests"] = _clean_requests(values["feature_requests"] or [])
    source = feedback_source or (
        FeedbackSource.DASHBOARD if kind == FeedbackKind.DASHBOARD else FeedbackSource.MODAL
    )
    if source not in FeedbackSource.values:
        raise ValidationError(
            {"feedback_source": f"Must be one of: {', '.join(FeedbackSource.values)}."}
        )
    feedback_validate(kind=kind, rating=rating, dimensions=values)
    positive = values.pop("positive_aspects") or []
    negative = values.pop("negative_aspects") or []
    defaults: dict = {"rating": rating, "feedback_source": source}
    aspects = _aspects(positive, negative)  # none but on detailed ratings (validated above)
    if kind != FeedbackKind.DASHBOARD:
        if comment:
            defaults["comment"] = comment.strip()
        return _entry_upsert(user=user, outcome=outcome, kind=kind, defaults=defaults)
    defaults |= {"comment": comment.strip(), **values}
    defaults["positive_notes"] = defaults["positive_notes"].strip()
    defaults["negative_notes"] = defaults["negative_notes"].strip()
    defaults["error_details"] = defaults["error_details"].strip()
    with transaction.atomic():
        entry, created = _entry_upsert(user=user, outcome=outcome, kind=kind, defaults=defaults)
        entry.aspects.set(aspects)
    return entry, created


def _entry_upsert(
    *, user: User, outcome: OutcomeRecord | VisibleOutcomeId, kind: str, defaults: dict
) -> tuple[FeedbackEntry, bool]:
    """``user``'s entry for (``outcome``, ``kind``): a new one, or theirs with ``defaults``
    written over it (the other fields and ``created_at`` as they were). Returns (entry,
    created). One statement on the unique (user, outcome, kind): an inline rating is one
    round trip (``update_or_create`` took five: two savepoints, a locking read, the write),
    and two people's first ratings of one output at the same moment cannot collide.

    ``outcome``: the record, or the statement checking that the user may see it
    (``outcome_visible_id_later``), which runs inside this one: ``OutcomeRecord.DoesNotExist``
    when it selects nothing, and nothing is written.
    """
    now = timezone.now()
    new = FeedbackEntry(user=user, kind=kind, created_at=now, updated_at=now, **defaults)
    if isinstance(outcome, VisibleOutcomeId):
        target, target_params = outcome.sql, outcome.params
    else:
        target = f"SELECT %s::{OutcomeRecord._meta.pk.cast_db_type(connection)}"
        target_params = [outcome.pk]
    sql, fields = _upsert_sql(tuple(defaults), target, connection.alias)
    params = [field.get_db_prep_save(getattr(new, field.attname), connection) for field in fields]
    with connection.prepared_cursor() as cursor:
        cursor.execute(sql, [*params, *target_params])
        written = cursor.fetchone()
    if written is None:
        raise OutcomeRecord.DoesNotExist(f"No outcome {outcome.pk} for {user}.")
    *row, created = written
    entry = FeedbackEntry.from_db(connection.alias, _ATTNAMES, row)
    if isinstance(outcome, VisibleOutcomeId):  # the record, with its id alone
        outcome = OutcomeRecord.from_db(connection.alias, ["id"], [entry.outcome_id])
    entry.user, entry.outcome = user, outcome
    return entry, created


_ATTNAMES = [field.attname for field in FeedbackEntry._meta.concrete_fields]


@functools.cache
def _upsert_sql(names: tuple[str, ...], target: str, alias: str) -> tuple[str, list]:
    """The SQL of ``_entry_upsert`` writing ``names`` over an entry that exists, for the
    outcome ``target`` selects; with the fields of its parameters. Built once per shape."""
    connection = connections[alias]
    meta = FeedbackEntry._meta
    fields = [field for field in meta.concrete_fields if field.name not in ("id", "outcome")]
    quote = connection.ops.quote_name
    updated = [meta.get_field(name).column for name in names] + ["updated_at"]
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({quote(meta.get_field('outcome').column)}, "
        f"{', '.join(quote(field.column) for field in fields)}) "
        f"SELECT target.id, {connection.ops.cast_placeholders(fields)} "
        f"FROM ({target}) AS target (id) "
        "ON CONFLICT (user_id, outcome_id, kind) DO UPDATE SET "
        + ", ".join(f"{quote(column)} = EXCLUDED.{quote(column)}" for column in updated)
        + f" RETURNING {', '.join(quote(field.column) for field in meta.concrete_fields)}, "
        "(xmax = 0)"
    )
    return sql, fields


def feedback_current(entry: FeedbackEntry) -> dict:
    """The entry's values as ``feedback_rate`` takes them (aspects as codes by list)."""
    aspects = list(entry.aspects.all())
    return {
        "rating": entry.rating,
        "comment": entry.comment,
        "feedback_source": entry.feedback_source,
        **{field: getattr(entry, field) for field in DIMENSIONS},
        "would_recommend": entry.would_recommend,
        "positive_aspects": [a.code for a in aspects if a.polarity == AspectPolarity.POSITIVE],
        "negative_aspects": [a.code for a in aspects if a.polarity == AspectPolarity.NEGATIVE],
        "positive_notes": entry.positive_notes,
        "negative_notes": entry.negative_notes,
        "feature_requests": list(entry.feature_requests),
        "error_category": entry.error_category,
        "error_details": entry.error_details,
    }


@transaction.atomic
def feedback_update(*, entry: FeedbackEntry, user: User, **changes) -> FeedbackEntry:
    """Correct some fields of an entry; only its author may. The rest stays as it was."""
    if entry.user_id != user.pk:
        raise PermissionError("Only the author can change this feedback.")
    entry = FeedbackEntry.objects.select_for_update().get(pk=entry.pk)
    current = feedback_current(entry)
    kept = set(current["positive_aspects"]) | set(current["negative_aspects"])
    values = current | changes
    rating = values.pop("rating")
    comment = values.pop("comment")
    source = values.pop("feedback_source")
    feedback_validate(kind=entry.kind, rating=rating, dimensions=values)
    aspects = _aspects(values.pop("positive_aspects"), values.pop("negative_aspects"), keep=kept)
    entry.rating = rating
    entry.comment = comment.strip()
    entry.feedback_source = source
    for field, value in values.items():
        setattr(entry, field, value.strip() if isinstance(value, str) else value)
    entry.feature_requests = _clean_requests(entry.feature_requests)
    entry.full_clean(exclude=["outcome", "user"], validate_unique=False)
    entry.save()
    if entry.kind == FeedbackKind.DASHBOARD:
        entry.aspects.set(aspects)
    return entry


@transaction.atomic
def feedback_withdraw(*, entry: FeedbackEntry, user: User) -> None:
    """Withdraw (delete) an entry; only its author may. Withdrawing twice is a no-op."""
    if entry.user_id != user.pk:
        raise PermissionError("Only the author can withdraw this feedback.")
    FeedbackEntry.objects.filter(pk=entry.pk).delete()
