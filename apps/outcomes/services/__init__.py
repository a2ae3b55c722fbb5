"""Writes for outcomes, one module per job; callers import from here.

- ``rules``: the field rules Python states (times, NULs), shared by every path;
- ``recording``: one agent action, a one-item call of ``bulk``;
- ``bulk``: a whole bulk call in one SQL statement;
- ``resolution``: pending outcomes decided by their signals, late signals, expiry;
- ``corrections``: corrections, soft delete and restore, with their history;
- ``calibration``: the reliability bins.
"""

from apps.outcomes.services.bulk import (
    MAX_BULK_ITEMS,
    BulkItemResult,
    outcomes_record_bulk,
    outcomes_record_bulk_json,
)
from apps.outcomes.services.calibration import calibration_recompute
from apps.outcomes.services.corrections import outcome_correct, outcome_delete, outcome_restore
from apps.outcomes.services.recording import outcome_record, outcome_record_item
from apps.outcomes.services.resolution import (
    outcomes_expire,
    outcomes_resolve_by_interactions,
    outcomes_resolve_deal_progression,
    outcomes_resolve_engagement,
    outcomes_resolve_immediate_signals,
)
from apps.outcomes.services.rules import MAX_OUTPUT_TEXT, OutcomeDeleted

__all__ = [
    "MAX_BULK_ITEMS",
    "MAX_OUTPUT_TEXT",
    "BulkItemResult",
    "OutcomeDeleted",
    "calibration_recompute",
    "outcome_correct",
    "outcome_delete",
    "outcome_record",
    "outcome_record_item",
    "outcome_restore",
    "outcomes_expire",
    "outcomes_record_bulk",
    "outcomes_record_bulk_json",
    "outcomes_resolve_by_interactions",
    "outcomes_resolve_deal_progression",
    "outcomes_resolve_engagement",
    "outcomes_resolve_immediate_signals",
]
