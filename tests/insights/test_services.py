from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from apps.insights.models import AlertFeedback, Insight
from apps.insights.services import (
    InsightConflict,
    alert_feedback_record,
    insight_act,
    insight_create,
    insight_dismiss,
    insight_reopen,
    insights_bulk_dismiss,
)
from tests.factories.insights import InsightFactory


@pytest.fixture
def insight(account):
    return InsightFactory(account=account)


def test_acting_closes_the_insight_with_who_and_when(insight, manager):
    insight_act(insight=insight, user=manager, note="Called the CFO")

    insight.refresh_from_db()
    assert insight.status == "acted"
    assert insight.resolved_by == manager
    assert insight.resolved_at is not None
    assert insight.resolution_note == "Called the CFO"


def test_dismissing_keeps_the_reason(insight, manager):
    insight_dismiss(insight=insight, user=manager, reason="false_positive", note="bot traffic")

    insight.refresh_from_db()
    assert (insight.status, insight.dismiss_reason) == ("dismissed", "false_positive")


def test_dismissing_without_a_known_reason_is_refused_and_changes_nothing(insight, manager):
    with pytest.raises(ValidationError) as error:
        insight_dismiss(insight=insight, user=manager, reason="meh")

    assert "reason" in error.value.message_dict
    insight.refresh_from_db()
    assert insight.status == "pending"


def test_acting_on_a_dismissed_insight_is_a_conflict_naming_who_dismissed_it(insight, manager):
    insight_dismiss(insight=insight, user=manager, reason="not_relevant")

    with pytest.raises(InsightConflict, match="already dismissed by Maria Manager"):
        insight_act(insight=insight, user=manager)


def test_dismissing_twice_is_a_conflict(insight, manager):
    insight_dismiss(insight=insight, user=manager, reason="not_relevant")

    with pytest.raises(InsightConflict):
        insight_dismiss(insight=insight, user=manager, reason="other")


def test_undo_reopens_the_insight_for_the_person_who_closed_it(insight, manager):
    insight_dismiss(insight=insight, user=manager, reason="not_relevant")

    insight_reopen(insight=insight, user=manager)

    insight.refresh_from_db()
    assert (insight.status, insight.resolved_by, insight.dismiss_reason) == ("pending", None, "")


def test_undo_is_refused_after_the_undo_window(insight, manager):
    insight_act(insight=insight, user=manager)
    Insight.objects.filter(pk=insight.pk).update(resolved_at=timezone.now() - timedelta(minutes=5))

    with pytest.raises(InsightConflict):
        insight_reopen(insight=insight, user=manager)


def test_undo_is_refused_to_someone_else(insight, manager, admin_user):
    insight_act(insight=insight, user=manager)

    with pytest.raises(InsightConflict):
        insight_reopen(insight=insight, user=admin_user)


def test_undo_is_refused_when_a_newer_insight_holds_the_slot(insight, manager, account):
    insight_act(insight=insight, user=manager)
    InsightFactory(account=account, pattern_type=insight.pattern_type)

    with pytest.raises(InsightConflict, match="newer insight"):
        insight_reopen(insight=insight, user=manager)


def test_bulk_dismiss_closes_only_pending_insights(org, manager):
    pending = InsightFactory.create_batch(3)
    acted = InsightFactory()
    insight_act(insight=acted, user=manager)

    count = insights_bulk_dismiss(
        insights=Insight.objects.all(), user=manager, reason="not_relevant"
    )

    assert count == 3
    assert set(Insight.objects.filter(status="dismissed").values_list("pk", flat=True)) == {
        i.pk for i in pending
    }
    assert Insight.objects.get(pk=acted.pk).status == "acted"


def test_feedback_again_updates_the_same_entry(insight, rep):
    alert_feedback_record(insight=insight, user=rep, useful=True)
    alert_feedback_record(insight=insight, user=rep, useful=False, comment="Too noisy")

    feedback = AlertFeedback.objects.get()
    assert (feedback.useful, feedback.comment) == (False, "Too noisy")


def test_an_overlong_feedback_comment_is_refused(insight, rep):
    with pytest.raises(ValidationError):
        alert_feedback_record(insight=insight, user=rep, useful=True, comment="x" * 2001)
    assert not AlertFeedback.objects.exists()


def test_creating_an_insight_where_one_is_open_returns_the_open_one(account):
    first, created = insight_create(
        account=account,
        pattern_type="buying_signal",
        signal="buying_interest",
        title="Pricing asked",
        confidence=0.7,
        severity="medium",
    )
    second, created_again = insight_create(
        account=account,
        pattern_type="buying_signal",
        signal="buying_interest",
        title="Pricing asked again",
        confidence=0.9,
        severity="high",
    )

    assert (created, created_again) == (True, False)
    assert second == first


def test_an_insight_with_confidence_out_of_range_is_refused(account):
    with pytest.raises(ValidationError):
        insight_create(
            account=account,
            pattern_type="buying_signal",
            signal="buying_interest",
            title="x",
            confidence=1.5,
            severity="medium",
        )
    assert not Insight.objects.exists()
