"""Writes for feedback and learnings, one module per job; callers import from here."""

from apps.feedback.services.extraction import ExtractionResult, learnings_extract
from apps.feedback.services.learnings import (
    learning_application_record,
    learning_create,
    learning_keep,
    learning_retire,
    learning_set_active,
    learnings_refresh_lift,
    learnings_refresh_scores,
    learnings_set_active,
)
from apps.feedback.services.ratings import (
    DIMENSIONS,
    feedback_rate,
    feedback_update,
    feedback_validate,
    feedback_withdraw,
)

__all__ = [
    "DIMENSIONS",
    "ExtractionResult",
    "feedback_rate",
    "feedback_update",
    "feedback_validate",
    "feedback_withdraw",
    "learning_application_record",
    "learning_create",
    "learning_keep",
    "learning_retire",
    "learning_set_active",
    "learnings_extract",
    "learnings_refresh_lift",
    "learnings_refresh_scores",
    "learnings_set_active",
]
