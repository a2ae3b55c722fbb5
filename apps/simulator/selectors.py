"""Reads of the simulator app."""

from __future__ import annotations

from apps.simulator.models import SimulationReport


def simulation_report_latest() -> SimulationReport | None:
    return SimulationReport.objects.order_by("-created_at", "-id").first()
