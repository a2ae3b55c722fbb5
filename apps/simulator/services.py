"""Writes of the simulator app: keeping a run's report."""

from __future__ import annotations

from apps.simulator.models import SimulationReport


def simulation_report_store(*, summary: dict) -> SimulationReport:
    """Keep the summary of a run (``report.summarise``) in the current organisation."""
    return SimulationReport.objects.create(summary=summary)
