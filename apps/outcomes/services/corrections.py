"""Corrections after recording: fix an outcome's details, delete it softly, restore it.

Each is one transaction on the locked row and appends an ``OutcomeChange`` (who, when,
what changed) to the record's history; a call that changes nothing records nothing, so
a retried correction is harmless.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apps.agents.models import Clone
from apps.crm.models import Deal
from apps.outcomes.models import OutcomeChange, OutcomeChangeKind, OutcomeRecord, Signal
from apps.outcomes.services.rules import MAX_OUTPUT_TEXT, NUL_MESSAGE

# What a correction may change; identity (external_id, action_type, account) never.
CORRECTABLE = ("metadata", "output_text", "deal", "clone")
NOT_CORRECTABLE_MESSAGE = "This field cannot be corrected."


def _plain(value: object) -> object:
    """A history-friendly value: references by their external id."""
    if isinstance(value, Deal | Clone):
        return value.external_id
    return value


def _check(record: OutcomeRecord, changes: dict) -> None:
    errors: dict[str, str] = {}
    for name in changes:
        if name not in CORRECTABLE:
            errors[name] = NOT_CORRECTABLE_MESSAGE
    if "output_text" in changes:
        text = changes["output_text"]
        if not isinstance(text, str):
            errors["output_text"] = "Must be text."
        elif len(text) > MAX_OUTPUT_TEXT:
            errors["output_text"] = (
                f"Ensure this field has no more than {MAX_OUTPUT_TEXT} characters."
            )
        elif "\x00" in text:
            errors["output_text"] = NUL_MESSAGE
    if "metadata" in changes and not isinstance(changes["metadata"], dict):
        errors["metadata"] = "Must be a JSON object."
    if "deal" in changes:
        deal = changes["deal"]
        if deal is not None and deal.account_id != record.account_id:
            errors["deal"] = "This deal belongs to another account."
        elif deal is None and record.action_type.signal == Signal.DEAL_PROGRESSION:
            errors["deal"] = (
                f"A {record.action_type.code} action needs the deal it is meant to progress."
            )
    if errors:
        raise ValidationError(errors)


def _lock(record: OutcomeRecord) -> OutcomeRecord:
    return (
        OutcomeRecord.all_objects.select_for_update(of=("self",))
        .select_related("action_type", "deal", "clone")
        .get(pk=record.pk)
    )


@transaction.atomic
def outcome_correct(*, outcome: OutcomeRecord, actor: str, changes: dict) -> OutcomeRecord:
    """Correct ``metadata``, ``output_text``, ``deal`` or ``clone`` of an outcome.

    Any other field is a ``ValidationError`` naming it (identity is never corrected);
    nothing is stored then. The history keeps each changed field's old and new value.
    """
    record = _lock(outcome)
    _check(record, changes)
    diff = {}
    for name, new in changes.items():
        old = getattr(record, name)
        if old != new:
            diff[name] = {"from": _plain(old), "to": _plain(new)}
            setattr(record, name, new)
    if diff:
        record.save(update_fields=list(diff))
        OutcomeChange.objects.create(
            outcome=record, kind=OutcomeChangeKind.CORRECTED, actor=actor, changes=diff
        )
    return record


@transaction.atomic
def outcome_delete(*, outcome: OutcomeRecord, actor: str) -> OutcomeRecord:
    """Soft-delete: the record leaves lists, dashboards and calibration, its external_id
    stays taken (re-posting it is a conflict), and an admin can restore it."""
    record = _lock(outcome)
    if record.deleted_at is None:
        record.deleted_at = timezone.now()
        record.save(update_fields=["deleted_at"])
        OutcomeChange.objects.create(
            outcome=record,
            kind=OutcomeChangeKind.DELETED,
            actor=actor,
            changes={"deleted_at": {"from": None, "to": record.deleted_at.isoformat()}},
        )
    return record


@transaction.atomic
def outcome_restore(*, outcome: OutcomeRecord, actor: str) -> OutcomeRecord:
    """Undo a soft delete (the admin's restore action)."""
    record = _lock(outcome)
    if record.deleted_at is not None:
        OutcomeChange.objects.create(
            outcome=record,
            kind=OutcomeChangeKind.RESTORED,
            actor=actor,
            changes={"deleted_at": {"from": record.deleted_at.isoformat(), "to": None}},
        )
        record.deleted_at = None
        record.save(update_fields=["deleted_at"])
    return record
