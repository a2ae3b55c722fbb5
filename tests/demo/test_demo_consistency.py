"""The demo tells one coherent story: what a new user sees never contradicts itself."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context

from apps.approvals.models import Category, ProposedAction
from apps.crm.models import CLOSED_STAGES, STAGE_ORDER, DealStageChange
from apps.dashboards.periods import Period
from apps.dashboards.selectors import autonomy_breakdown
from apps.feedback.demo import COMMENTS
from apps.feedback.models import FeedbackEntry, FeedbackKind
from apps.outcomes.models import ActionType, OutcomeRecord, OutcomeStatus
from apps.tenancy.models import Organization

SLUG = "storytest"


@pytest.fixture(scope="module")
def demo_schema(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        call_command("seed_demo", "--org", SLUG, "--no-progress", stdout=StringIO())
        org = Organization.objects.get(slug=SLUG)
        with schema_context(org.schema_name):
            yield org
        connection.set_schema_to_public()
        org.delete(force_drop=True)


@pytest.fixture
def story(demo_schema, django_db_blocker):
    with django_db_blocker.unblock(), schema_context(demo_schema.schema_name):
        yield demo_schema


def test_every_action_type_the_demo_uses_is_defined(story):
    defined = set(ActionType.objects.values_list("code", flat=True))
    used = set(ProposedAction.objects.values_list("action_type", flat=True))
    used |= set(OutcomeRecord.objects.values_list("action_type__code", flat=True))
    assert used <= defined
    reasons = " ".join(str(r) for r in ProposedAction.objects.values_list("reasons", flat=True))
    assert "not defined in this organisation" not in reasons


def test_no_amount_is_above_the_deal_it_is_about(story):
    with_deal = ProposedAction.objects.filter(amount__isnull=False, deal__isnull=False)
    assert with_deal.exists()
    for action in with_deal.select_related("deal"):
        assert action.amount <= action.deal.amount, action.external_id


def test_no_deal_moves_back_or_leaves_a_closed_stage(story):
    for change in DealStageChange.objects.exclude(from_stage=""):
        assert change.from_stage not in CLOSED_STAGES, change.deal_id
        if change.to_stage in STAGE_ORDER and change.from_stage in STAGE_ORDER:
            assert STAGE_ORDER[change.to_stage] > STAGE_ORDER[change.from_stage]
    progressions = ProposedAction.objects.filter(action_type="deal_progression")
    assert progressions.exists()
    for action in progressions.select_related("deal"):
        assert action.deal is not None and action.deal.stage not in CLOSED_STAGES
        assert STAGE_ORDER[action.payload["stage"]] >= STAGE_ORDER[action.deal.stage]


def test_comments_agree_with_their_ratings(story):
    detailed = FeedbackEntry.objects.filter(kind=FeedbackKind.DASHBOARD).exclude(comment="")
    assert detailed.exists()
    for entry in detailed:
        if entry.comment in COMMENTS["good"]:
            assert entry.rating >= 4, (entry.rating, entry.comment)
        if entry.comment in COMMENTS["poor"]:
            assert entry.rating <= 2, (entry.rating, entry.comment)


def test_the_periodic_jobs_ran_so_nothing_is_pending_past_its_window(story):
    overdue = OutcomeRecord.objects.filter(
        status=OutcomeStatus.PENDING, window_ends_at__lt=timezone.now()
    )
    assert not overdue.exists()


def test_the_autonomy_rate_is_realistic(story):
    autonomy = autonomy_breakdown(Period("30d", timezone.now()))
    assert 0.35 <= autonomy["autonomy_rate"] <= 0.85, autonomy
    assert ProposedAction.objects.filter(category=Category.APPROVAL_REQUIRED).exists()


def test_the_learning_story_comes_from_the_simulated_loop(story):
    """The demo reps' agents ran two simulated weeks through the API: their outcomes were
    rated, the extractor found planted traits, calibration moved, and the Simulation page
    has the report, loop on against its control."""
    from apps.feedback.models import Learning
    from apps.simulator.models import SimulationReport
    from apps.simulator.report import TRUE_TRAITS

    report = SimulationReport.objects.get()
    summary = report.summary
    assert [week["week"] for week in summary["weeks"]] == [1, 2]
    assert summary["weeks"][-1]["on"]["reply_rate"] > summary["weeks"][-1]["off"]["reply_rate"]
    simulated = OutcomeRecord.objects.filter(external_id__startswith="sim-1-on-")
    assert (
        simulated.filter(clone__owner__username__in=["rory", "sam"]).count()
        == simulated.count()
        > 0
    )
    assert FeedbackEntry.objects.filter(outcome__in=simulated).exists()
    assert set(summary["traits"][0]["recovered"]) <= set(TRUE_TRAITS)
    assert Learning.objects.filter(
        signature__startswith="email_sent:", extracted_at__isnull=False
    ).exists()
