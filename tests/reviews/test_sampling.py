"""Queue entry: the rule, deterministic sampling, idempotent re-runs, the periodic job."""

from datetime import timedelta

from django.utils import timezone

from apps.outcomes.models import OutcomeRecord
from apps.reviews.models import ReviewItem
from apps.reviews.services import queues_fill
from apps.tenancy.periodic import get_job
from tests.factories.crm import AccountFactory
from tests.factories.outcomes import CloneFactory, OutcomeFactory, action_type


def _bulk_outcomes(count: int, **fields) -> None:
    account = AccountFactory()
    email = action_type("email_sent")
    now = timezone.now()
    OutcomeRecord.objects.bulk_create(
        [
            OutcomeRecord(
                external_id=f"bulk-{index}",
                action_type=email,
                account=account,
                predicted_confidence=0.5,
                occurred_at=now,
                window_ends_at=now + timedelta(hours=24),
                output_text="Hello",
                **fields,
            )
            for index in range(count)
        ],
        batch_size=2000,
    )


def test_a_ten_percent_rule_on_10000_outcomes_admits_ten_percent_stably(
    org, quality, rep, make_queue
):
    _bulk_outcomes(10_000)
    queue = make_queue(rubrics=[quality], reviewers=[rep], rate_bp=1000)
    admitted = set(ReviewItem.objects.filter(queue=queue).values_list("outcome_id", flat=True))
    assert 900 <= len(admitted) <= 1100  # 10 % ± 1 %
    assert queues_fill() == 0  # re-run: nothing new
    ReviewItem.objects.filter(queue=queue).delete()
    type(queue).objects.filter(pk=queue.pk).update(filled_at=None)
    queues_fill(queue_id=queue.pk)  # from scratch: the very same outcomes
    again = set(ReviewItem.objects.filter(queue=queue).values_list("outcome_id", flat=True))
    assert again == admitted


def test_rule_selects_by_type_clone_confidence_and_status(org, quality, rep, make_queue):
    clone = CloneFactory()
    email = OutcomeFactory(predicted_confidence=0.9, clone=clone)
    OutcomeFactory(predicted_confidence=0.2, clone=clone)  # too unsure
    OutcomeFactory(predicted_confidence=0.9)  # another clone (none)
    OutcomeFactory(predicted_confidence=0.9, clone=clone, action_type=action_type("escalation"))
    queue = make_queue(
        rubrics=[quality],
        reviewers=[rep],
        action_types=[action_type("email_sent")],
        clones=[clone],
        min_confidence=0.5,
        max_confidence=1.0,
    )
    assert list(queue.items.values_list("outcome_id", flat=True)) == [email.pk]


def test_every_expired_outcome_enters_when_it_expires(org, quality, rep, make_queue):
    outcome = OutcomeFactory()
    queue = make_queue(rubrics=[quality], reviewers=[rep], outcome_status="expired")
    assert not queue.items.exists()
    OutcomeRecord.objects.filter(pk=outcome.pk).update(
        status="expired", score=0.0, resolved_at=timezone.now()
    )
    summary = get_job("fill_review_queues").func()
    assert summary == "1 admitted"
    assert list(queue.items.values_list("outcome_id", flat=True)) == [outcome.pk]


def test_paused_queue_admits_nothing(org, quality, rep, make_queue):
    queue = make_queue(rubrics=[quality], reviewers=[rep], is_active=False)
    OutcomeFactory()
    queues_fill()
    assert not queue.items.exists()


def test_fill_is_one_statement_whatever_the_number_of_queues(
    org, quality, rep, make_queue, django_assert_num_queries
):
    for index in range(4):
        make_queue(name=f"Queue {index}", rubrics=[quality], reviewers=[rep], rate_bp=5000)
    OutcomeFactory.create_batch(20)
    with django_assert_num_queries(4) as queries:  # savepoint, SET LOCAL jit, fill, release
        queues_fill()
    assert sum("INSERT INTO" in query["sql"] for query in queries.captured_queries) == 1


def test_origin_separates_autonomous_actions_from_executed_proposals(org, quality, rep, make_queue):
    autonomous = OutcomeFactory()
    proposed = OutcomeFactory(metadata={"proposed_action": 7, "details": {}})
    direct = make_queue(name="Autonomous", rubrics=[quality], reviewers=[rep], origin="direct")
    after = make_queue(name="Proposed", rubrics=[quality], reviewers=[rep], origin="proposed")
    assert list(direct.items.values_list("outcome_id", flat=True)) == [autonomous.pk]
    assert list(after.items.values_list("outcome_id", flat=True)) == [proposed.pk]


def test_the_job_looks_only_at_recent_outcomes_yet_admits_late_decisions(
    org, quality, rep, make_queue
):
    queue = make_queue(rubrics=[quality], reviewers=[rep], outcome_status="resolved")
    old = OutcomeFactory()
    OutcomeRecord.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=30))
    queues_fill()
    untouched = OutcomeFactory()
    OutcomeRecord.objects.filter(pk=untouched.pk).update(
        created_at=timezone.now() - timedelta(days=30),
        status="resolved",
        score=1.0,
        resolved_at=timezone.now() - timedelta(days=29),
    )  # decided long ago, never seen by a fill since: only a full scan would find it
    OutcomeRecord.objects.filter(pk=old.pk).update(
        status="resolved", score=1.0, resolved_at=timezone.now()
    )
    assert queues_fill() == 1
    assert list(queue.items.values_list("outcome_id", flat=True)) == [old.pk]
    type(queue).objects.filter(pk=queue.pk).update(filled_at=None)  # e.g. the rule changed
    assert queues_fill() == 1
