"""The loop, end to end: a small simulated team through the real API routing and auth."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from django.core.management import CommandError, call_command
from django_tenants.utils import schema_context

from apps.crm.models import Account
from apps.outcomes.models import OutcomeRecord
from apps.simulator.engine import ClientTransport, Simulation, report_lines
from apps.users.models import ApiKey

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
    # The calibration API's ECE falls from the agent's raw start once it uses the
    # calibrated confidence, and ends below the control's, which keeps its raw numbers.
    assert on.weeks[-1].ece_api < on.first_day_ece
    assert on.weeks[-1].ece_api < off.weeks[-1].ece_api
    assert on.weeks[-1].ece_week < off.weeks[-1].ece_week
    # Learnings extracted from the reps' ratings name at least one planted trait.
    assert on.recall > 0
    # Each organisation saw only its own run: the loop-on outcomes are not in the control.
    with schema_context(other_org.schema_name):
        assert not OutcomeRecord.objects.filter(external_id__startswith="sim-7-on-").exists()
    with schema_context(org.schema_name):
        assert not OutcomeRecord.objects.filter(external_id__startswith="sim-7-off-").exists()
        assert OutcomeRecord.objects.filter(external_id__startswith="sim-7-on-").count() == 100
        # The keys the run made for its agents, CRM sync, reps and manager are revoked.
        made = ApiKey.objects.filter(name__startswith="simulator ")
        assert made.count() == 4
        assert not made.filter(revoked_at__isnull=True).exists()


@pytest.mark.django_db
def test_simulate_refuses_bad_arguments_and_stores_nothing(org):
    with pytest.raises(CommandError, match="at least 1"):
        call_command("simulate", "--org", org.slug, "--weeks", "0")
    with pytest.raises(CommandError, match="No organisation"):
        call_command("simulate", "--org", "no-such-org", "--base-url", "inprocess")
    with schema_context(org.schema_name):
        assert not Account.objects.filter(external_id__startswith="sim-acc-").exists()
