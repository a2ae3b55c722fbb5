"""The loop, end to end: a small simulated team through the real API routing and auth."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from apps.simulator.engine import ClientTransport, Simulation, report_lines

END = datetime(2026, 11, 30, tzinfo=UTC)  # a fixed simulated clock: the run is reproducible


def _run(org, *, loop: bool):
    return Simulation(
        org=org,
        transport_for=ClientTransport,
        weeks=2,
        reps=1,
        seed=7,
        loop=loop,
        end=END,
    ).run()


@pytest.mark.django_db
def test_the_loop_on_beats_the_loop_off_and_calibration_improves(org, other_org):
    started = time.monotonic()
    on = _run(org, loop=True)
    off = _run(other_org, loop=False)
    elapsed = time.monotonic() - started
    print("\n".join([*report_lines(on, off), f"{elapsed:.1f} s"]))

    assert elapsed < 60
    # Same customers, same luck (common random numbers): only the loop differs.
    assert on.weeks[0].emails == off.weeks[0].emails == 50
    assert on.weeks[-1].reply_rate > off.weeks[-1].reply_rate
    # The calibration API's ECE falls once the agent uses its calibrated confidence,
    assert on.weeks[-1].ece_api < on.weeks[0].ece_api
    # and ends below the control's, whose agent keeps its overconfident raw numbers.
    assert on.weeks[-1].ece_week < off.weeks[-1].ece_week
    # Learnings extracted from the reps' ratings name at least one planted trait.
    assert on.recall > 0
