"""Periodic jobs of feedback: learning extraction (also refreshes scores and decay)."""

from __future__ import annotations

from datetime import timedelta

from apps.feedback.services import learnings_extract
from apps.tenancy.periodic import periodic_job


@periodic_job("extract_learnings", every=timedelta(hours=6))
def extract_learnings() -> str:
    """Extract learnings from rated outputs and refresh every learning's scores and decay."""
    return str(learnings_extract())
