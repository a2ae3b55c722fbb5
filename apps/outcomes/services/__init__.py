"""Writes for outcomes, one module per job; callers import from here.

- ``recording``: one agent action, and the field rules of every recording path;
- ``bulk``: a whole bulk call in one SQL statement;
- ``resolution``: pending outcomes decided by their signals, late signals, expiry;
- ``calibration``: the reliability bins.
"""

from apps.outcomes.services.bulk import (
    MAX_BULK_ITEMS,
    BulkItemResult,
    outcomes_record_bulk,
    outcomes_record_bulk_json,
)
from apps.outcomes.services.calibration import calibration_recompute
from apps.outcomes.services.recording import MAX_OUTPUT_TEXT, outcome_record
from apps.outcomes.services.resolution import (
    outcomes_expire,
    outcomes_resolve_by_interactions,
    outcomes_resolve_deal_progression,
    outcomes_resolve_engagement,
    outcomes_resolve_immediate_signals,
)

__all__ = [
    "MAX_BULK_ITEMS",
    "MAX_OUTPUT_TEXT",
    "BulkItemResult",
    "calibration_recompute",
    "outcome_record",
    "outcomes_expire",
    "outcomes_record_bulk",
    "outcomes_record_bulk_json",
    "outcomes_resolve_by_interactions",
    "outcomes_resolve_deal_progression",
    "outcomes_resolve_engagement",
    "outcomes_resolve_immediate_signals",
]
