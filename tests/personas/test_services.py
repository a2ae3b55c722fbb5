"""Saving a persona keeps versions; revert copies an old one; outcome figures per version."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from apps.agents.models import RegionProfile
from apps.personas.models import PersonaVersion
from apps.personas.selectors import clone_current_version, persona_history
from apps.personas.services import persona_revert, persona_update
from tests.factories.feedback import FeedbackEntryFactory
from tests.factories.outcomes import OutcomeFactory
from tests.factories.personas import CloneFactory


@pytest.fixture
def clone(rep):
    return CloneFactory(owner=rep, external_id="rory-1", formal_casual=30)


def test_first_save_keeps_the_initial_settings_as_version_1(clone, manager):
    version, changed = persona_update(clone=clone, user=manager, sliders={"formal_casual": 80})

    assert changed and version.number == 2
    initial = clone.versions.get(number=1)
    assert initial.formal_casual == 30 and initial.note == "Initial settings"
    clone.refresh_from_db()
    assert clone.formal_casual == 80 and clone_current_version(clone) == 2


def test_saving_unchanged_settings_adds_no_version(clone, manager):
    persona_update(clone=clone, user=manager, sliders={"formal_casual": 80})
    version, changed = persona_update(clone=clone, user=manager, sliders={"formal_casual": 80})
    assert not changed and version.number == 2
    assert clone.versions.count() == 2


@pytest.mark.parametrize(
    "changes",
    [
        {"sliders": {"formal_casual": 101}},
        {"sliders": {"concise_detailed": -1}},
        {"sliders": {"tone": 20}},
        {"custom_instructions": "x" * 2001},
    ],
)
def test_out_of_range_values_are_refused_and_nothing_is_stored(clone, manager, changes):
    with pytest.raises(ValidationError):
        persona_update(clone=clone, user=manager, **changes)
    clone.refresh_from_db()
    assert clone.formal_casual == 30 and not PersonaVersion.objects.exists()


def test_revert_brings_back_old_settings_as_a_new_version(clone, manager):
    uk = RegionProfile.objects.get(code="uk")
    persona_update(clone=clone, user=manager, sliders={"formal_casual": 80}, region=uk)
    persona_update(clone=clone, user=manager, custom_instructions="Mention the webinar.")

    version, changed = persona_revert(
        clone=clone, version=clone.versions.get(number=1), user=manager
    )

    assert changed and version.number == 4 and version.note == "Reverted to version 1"
    clone.refresh_from_db()
    assert (clone.formal_casual, clone.region, clone.custom_instructions) == (30, None, "")
    assert clone.versions.count() == 4


def test_history_describes_what_changed_between_versions(clone, manager):
    uk = RegionProfile.objects.get(code="uk")
    persona_update(
        clone=clone,
        user=manager,
        sliders={"formal_casual": 80, "technical_business": 20},
        region=uk,
        custom_instructions="Be brief.",
    )
    latest, initial = persona_history(clone)
    assert latest.changes == [
        "Formal ↔ Casual: 30 → 80 (more casual)",
        "Technical ↔ Business: 50 → 20 (more technical)",
        "Region: no region → United Kingdom",
        "Custom instructions added",
    ]
    assert initial.changes == [] and latest.is_live and not initial.is_live


def test_each_version_counts_the_outcomes_of_the_time_it_was_live(clone, manager):
    now = timezone.now()
    persona_update(clone=clone, user=manager, sliders={"formal_casual": 80})
    clone.versions.filter(number=1).update(created_at=now - timedelta(days=10))
    clone.versions.filter(number=2).update(created_at=now - timedelta(days=5))
    when_v1 = now - timedelta(days=8)
    when_v2 = now - timedelta(days=2)
    for score in (1.0, 0.0):
        OutcomeFactory(
            clone=clone, occurred_at=when_v1, status="resolved", score=score, resolved_at=now
        )
    for score in (1.0, 0.6, 0.2):
        OutcomeFactory(
            clone=clone, occurred_at=when_v2, status="resolved", score=score, resolved_at=now
        )
    OutcomeFactory(clone=clone, occurred_at=when_v2)  # pending: counted, not decided
    OutcomeFactory(occurred_at=when_v2, status="resolved", score=1.0, resolved_at=now)  # no clone

    v2, v1 = persona_history(clone)

    assert (v1.outcome_count, v1.decided_count, v1.positive_count) == (2, 2, 1)
    assert v1.success_rate == 0.5
    assert (v2.outcome_count, v2.decided_count, v2.positive_count) == (4, 3, 2)
    assert v2.success_rate == pytest.approx(2 / 3)


def test_each_version_shows_the_mean_detailed_rating_of_its_outputs(clone, manager, rep):
    now = timezone.now()
    persona_update(clone=clone, user=manager, sliders={"formal_casual": 80})
    clone.versions.filter(number=1).update(created_at=now - timedelta(days=10))
    clone.versions.filter(number=2).update(created_at=now - timedelta(days=5))
    early = OutcomeFactory(clone=clone, occurred_at=now - timedelta(days=8))
    late = OutcomeFactory(clone=clone, occurred_at=now - timedelta(days=1))
    FeedbackEntryFactory(outcome=early, user=manager, kind="dashboard", rating=2)
    FeedbackEntryFactory(outcome=late, user=manager, kind="dashboard", rating=5)
    FeedbackEntryFactory(outcome=late, user=rep, kind="dashboard", rating=4)
    FeedbackEntryFactory(outcome=late, user=rep, kind="inline", rating=-1)  # not a 1-5 rating

    v2, v1 = persona_history(clone)

    assert (v1.mean_rating, v1.rating_count) == (2.0, 1)
    assert (v2.mean_rating, v2.rating_count) == (4.5, 2)


def test_history_is_one_query_however_many_versions(clone, manager, django_assert_num_queries):
    for value in range(1, 30):
        persona_update(clone=clone, user=manager, sliders={"formal_casual": value})
    with django_assert_num_queries(1):
        history = persona_history(clone)
    assert len(history) == 30
