"""The five periodic outcome jobs: registered with their cadence, runnable, idempotent."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from apps.outcomes.models import CalibrationBin, OutcomeRecord
from apps.tenancy.periodic import beat_schedule, load_jobs
from tests.factories.crm import AccountFactory, InteractionFactory
from tests.factories.outcomes import OutcomeFactory, action_type

CADENCES = {
    "resolve_immediate_signals": timedelta(minutes=15),
    "resolve_engagement": timedelta(hours=6),
    "resolve_deal_progression": timedelta(hours=24),
    "expire_outcomes": timedelta(hours=1),
    "recalibrate": timedelta(hours=6),
}


def test_the_five_jobs_are_registered_with_the_cadences_of_the_sources():
    jobs = load_jobs()
    assert {name: jobs[name].every for name in CADENCES} == CADENCES
    schedule = beat_schedule()
    assert schedule["resolve_immediate_signals"]["schedule"] == 15 * 60
    assert schedule["recalibrate"]["args"] == ("recalibrate",)


def run(job: str) -> str:
    out = StringIO()
    call_command("run_periodic", job, "--org", "acme", stdout=out)
    return out.getvalue().strip()


@pytest.mark.parametrize("job", list(CADENCES))
def test_each_job_runs_by_hand_and_a_second_run_changes_nothing(org, job):
    account = AccountFactory()
    now = timezone.now()
    OutcomeFactory(account=account, occurred_at=now - timedelta(hours=3))
    OutcomeFactory(account=account, occurred_at=now - timedelta(hours=30))
    OutcomeFactory(
        account=account,
        action_type=action_type("meeting_request"),
        occurred_at=now - timedelta(hours=3),
    )
    InteractionFactory(account=account, channel="email", occurred_at=now - timedelta(hours=1))
    InteractionFactory(account=account, channel="meeting", occurred_at=now - timedelta(hours=1))

    first = run(job)
    state = (
        list(OutcomeRecord.objects.order_by("pk").values()),
        list(CalibrationBin.objects.order_by("pk").values()),
    )
    second = run(job)

    assert first.startswith(f"acme: {job}: ")
    assert second.startswith(f"acme: {job}: 0 ")
    assert (
        list(OutcomeRecord.objects.order_by("pk").values()),
        list(CalibrationBin.objects.order_by("pk").values()),
    ) == state
