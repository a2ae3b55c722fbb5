"""Recording one agent action: a one-item call of the bulk statement, so that the single
and the bulk path state each field rule, and answer each message, once."""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError

from apps.agents.models import Clone
from apps.crm.models import Account, Deal
from apps.outcomes.models import ActionType, OutcomeRecord
from apps.outcomes.services.bulk import outcomes_record_bulk
from apps.outcomes.services.rules import OutcomeDeleted


def outcome_record_item(*, item: object) -> tuple[OutcomeRecord, bool]:
    """Record one action given as the API payload (references by external id / code).

    Returns (record, created); a repeated ``external_id`` returns the stored record
    unchanged (``created`` False), also under a retry storm (``ON CONFLICT`` decides).
    Bad input raises ``ValidationError`` keyed by field, with the bulk path's messages;
    the external_id of a deleted record raises ``OutcomeDeleted``.
    """
    (result,) = outcomes_record_bulk(items=[item])
    if result.status == "error":
        if result.id is not None:
            raise OutcomeDeleted(OutcomeRecord.all_objects.get(pk=result.id))
        raise ValidationError(result.errors)
    record = OutcomeRecord.objects.select_related("action_type", "account", "deal", "clone").get(
        pk=result.id
    )
    return record, result.status == "created"


def outcome_record(
    *,
    external_id: str,
    action_type: ActionType,
    account: Account,
    predicted_confidence: float,
    occurred_at: datetime | None = None,
    deal: Deal | None = None,
    clone: Clone | None = None,
    output_text: str = "",
    metadata: dict | None = None,
) -> tuple[OutcomeRecord, bool]:
    """Record one agent action. Idempotent on ``external_id``: returns (record, created).

    ``occurred_at`` defaults to now and may lie in the past (backfill); the window ends
    ``action_type.window_hours`` after it. Bad input raises ``ValidationError`` keyed by
    field; see ``outcome_record_item``.
    """
    item = {
        "external_id": external_id,
        "action_type": action_type.code,
        "account": account.external_id,
        "deal": deal.external_id if deal is not None else None,
        "clone": clone.external_id if clone is not None else None,
        "predicted_confidence": predicted_confidence,
        "occurred_at": occurred_at,
        "output_text": output_text,
        "metadata": {} if metadata is None else metadata,
    }
    return outcome_record_item(item=item)
