from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.feedback.models import FeedbackEntry, Learning, LearningApplication
from apps.feedback.scoring import confidence, decay_factor
from apps.feedback.services import (
    feedback_rate,
    learning_application_record,
    learnings_refresh_scores,
)
from tests.factories.feedback import LearningFactory


def test_inline_rating_accepts_minus_one_zero_and_plus_one(rep, rory_output):
    for rating in (-1, 0, 1):
        entry, _ = feedback_rate(user=rep, outcome=rory_output, kind="inline", rating=rating)
        assert entry.rating == rating


@pytest.mark.parametrize(
    ("kind", "rating"), [("inline", 2), ("inline", -2), ("dashboard", 0), ("dashboard", 6)]
)
def test_rating_outside_the_scale_of_its_kind_is_refused_and_nothing_stored(
    rep, rory_output, kind, rating
):
    with pytest.raises(ValidationError) as error:
        feedback_rate(user=rep, outcome=rory_output, kind=kind, rating=rating)
    assert "rating" in error.value.message_dict
    assert not FeedbackEntry.objects.exists()


def test_rating_again_updates_the_one_entry_per_user_outcome_and_kind(rep, rory_output):
    first, created = feedback_rate(user=rep, outcome=rory_output, kind="inline", rating=1)
    again, created_again = feedback_rate(user=rep, outcome=rory_output, kind="inline", rating=-1)
    assert created and not created_again
    assert again.pk == first.pk
    assert FeedbackEntry.objects.get().rating == -1


def test_inline_and_detailed_ratings_of_the_same_output_are_separate_entries(rep, rory_output):
    feedback_rate(user=rep, outcome=rory_output, kind="inline", rating=1)
    feedback_rate(user=rep, outcome=rory_output, kind="dashboard", rating=4, comment="Good")
    assert FeedbackEntry.objects.count() == 2


def test_the_database_also_refuses_a_second_entry_for_the_same_kind(rep, rory_output):
    FeedbackEntry.objects.create(user=rep, outcome=rory_output, kind="inline", rating=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        FeedbackEntry.objects.create(user=rep, outcome=rory_output, kind="inline", rating=0)


def test_the_database_refuses_a_rating_off_the_scale(rep, rory_output):
    with pytest.raises(IntegrityError), transaction.atomic():
        FeedbackEntry.objects.create(user=rep, outcome=rory_output, kind="dashboard", rating=0)


def test_detailed_feedback_keeps_its_dimensions(rep, rory_output):
    entry, _ = feedback_rate(
        user=rep,
        outcome=rory_output,
        kind="dashboard",
        rating=4,
        comment="  Clear ask  ",
        usefulness=5,
        quality=4,
        clarity=3,
        likelihood_to_reuse=9,
        would_recommend=True,
    )
    entry.refresh_from_db()
    assert (entry.comment, entry.usefulness, entry.likelihood_to_reuse) == ("Clear ask", 5, 9)
    assert entry.would_recommend is True


@pytest.mark.parametrize(
    ("field", "value"), [("usefulness", 6), ("clarity", 0), ("likelihood_to_reuse", 11)]
)
def test_a_dimension_off_its_scale_is_refused(rep, rory_output, field, value):
    with pytest.raises(ValidationError) as error:
        feedback_rate(user=rep, outcome=rory_output, kind="dashboard", rating=3, **{field: value})
    assert field in error.value.message_dict
    assert not FeedbackEntry.objects.exists()


def test_inline_ratings_cannot_carry_the_detailed_dimensions(rep, rory_output):
    with pytest.raises(ValidationError) as error:
        feedback_rate(user=rep, outcome=rory_output, kind="inline", rating=1, usefulness=4)
    assert "usefulness" in error.value.message_dict


# --- learning arithmetic, hand-computed -----------------------------------------------------


@pytest.mark.parametrize(
    ("positive", "total", "expected"),
    [(0, 0, 0.5), (1, 1, 4 / 7), (40, 50, 43 / 56), (0, 10, 3 / 16), (30, 30, 33 / 36)],
)
def test_confidence_is_the_posterior_mean_under_a_neutral_beta_3_3_prior(positive, total, expected):
    assert confidence(positive, total) == pytest.approx(expected, abs=1e-12)


def test_no_evidence_is_neutral_and_evidence_orders_as_it_should():
    no_evidence = confidence(0, 0)
    assert no_evidence == 0.5
    # one lucky success does not beat a long good record
    assert confidence(1, 1) < confidence(40, 50)
    # a clear failure record ranks below knowing nothing
    assert confidence(0, 10) < no_evidence
    # the same share is trusted more the more evidence backs it, both ways
    assert confidence(8, 10) < confidence(80, 100)
    assert confidence(2, 10) > confidence(20, 100)
    # any success moves it up, any failure down
    assert confidence(1, 1) > no_evidence > confidence(0, 1)


@pytest.mark.parametrize(("days", "expected"), [(0, 1.0), (30, 0.75), (60, 0.625), (3650, 0.5)])
def test_decay_halves_the_part_above_one_half_every_thirty_days(days, expected):
    now = timezone.now()
    assert decay_factor(now - timedelta(days=days), now) == pytest.approx(expected, abs=1e-4)


def test_sql_refresh_gives_the_same_numbers_as_the_python_formulas(org):
    now = timezone.now()
    learning = LearningFactory(
        evidence_positive=8,
        evidence_total=10,
        application_count=4,
        success_points=2.5,
        last_success_at=now - timedelta(days=30),
    )
    learnings_refresh_scores(now=now)
    learning.refresh_from_db()
    assert learning.confidence_score == pytest.approx(confidence(10.5, 14), abs=1e-9)
    assert learning.success_rate == pytest.approx(2.5 / 4)
    assert learning.decay_factor == pytest.approx(0.75, abs=1e-6)


def test_recording_uses_updates_counters_rate_confidence_and_decay(org):
    now = timezone.now()
    learning = LearningFactory(
        evidence_positive=0, evidence_total=0, extracted_at=now - timedelta(days=60)
    )
    for outcome in ["success", "partial", "failure", "success"]:
        _, learning = learning_application_record(learning=learning, outcome=outcome)
    assert learning.application_count == 4
    assert learning.success_points == 2.5
    assert learning.success_rate == pytest.approx(0.625)
    assert learning.confidence_score == pytest.approx(confidence(2.5, 4), abs=1e-9)
    assert learning.decay_factor == pytest.approx(1.0, abs=1e-4)  # it just succeeded
    assert learning.last_success_at is not None
    assert LearningApplication.objects.filter(learning=learning).count() == 4


def test_a_learning_without_a_recent_success_decays_towards_one_half(org):
    now = timezone.now()
    learning = LearningFactory(extracted_at=now - timedelta(days=90))
    _, learning = learning_application_record(learning=learning, outcome="failure")
    assert learning.decay_factor == pytest.approx(0.5 + 0.5 * 2**-3, abs=1e-4)
    assert learning.last_success_at is None


def test_an_unknown_application_outcome_is_refused_and_counts_nothing(org):
    learning = LearningFactory()
    with pytest.raises(ValidationError):
        learning_application_record(learning=learning, outcome="great")
    learning.refresh_from_db()
    assert learning.application_count == 0
    assert not LearningApplication.objects.exists()


def test_decay_outside_half_to_one_is_refused_by_the_database(org):
    with pytest.raises(IntegrityError), transaction.atomic():
        Learning.objects.create(signature="x", title="x", guidance="x", decay_factor=0.4)


def test_the_data_migration_recomputes_every_learnings_confidence(org):
    import importlib

    from django.apps import apps as django_apps
    from django.db import connection

    migration = importlib.import_module(
        "apps.feedback.migrations.0003_recompute_confidence_and_seed_aspects"
    )
    none = LearningFactory(evidence_positive=0, evidence_total=0)
    strong = LearningFactory(evidence_positive=40, evidence_total=50)
    failing = LearningFactory(evidence_positive=0, evidence_total=10)
    Learning.objects.update(confidence_score=0.0)  # as the Wilson bound left them

    class Editor:
        pass

    editor = Editor()
    editor.connection = connection
    migration.forwards(django_apps, editor)
    scores = dict(Learning.objects.values_list("pk", "confidence_score"))
    assert scores[none.pk] == 0.5
    assert scores[strong.pk] == pytest.approx(43 / 56)
    assert scores[failing.pk] == pytest.approx(3 / 16)
    # the Python formula agrees with the frozen SQL of the migration
    assert scores[strong.pk] == pytest.approx(confidence(40, 50))
