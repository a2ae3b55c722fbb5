from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from apps.feedback.models import Learning
from apps.feedback.scoring import confidence
from apps.feedback.services import learning_application_record, learnings_extract
from tests.factories.feedback import FeedbackEntryFactory
from tests.factories.outcomes import CloneFactory, OutcomeFactory, action_type

GOOD_TEXT = "Hi Dana, quick question: could we book a call on Tuesday to go through pricing? ({})"
POOR_TEXT = (
    "Dear Sir or Madam, I am writing to provide an extensive overview of our platform "
    "capabilities and the many modules that your organisation might find interesting. "
) * 6 + "({})"


@pytest.fixture
def crafted(rep):
    """Six +1 outputs (short, meeting ask, morning, casual persona) against six −1 ones
    (long, no ask, evening, formal persona); two neutral ones that count for neither."""
    day = (timezone.now() - timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
    casual = CloneFactory(owner=rep, formal_casual=80, concise_detailed=50)
    formal = CloneFactory(owner=rep, formal_casual=20, concise_detailed=50)
    good, poor = [], []
    for index in range(6):
        good.append(
            OutcomeFactory(
                output_text=GOOD_TEXT.format(index),
                occurred_at=day.replace(hour=9),
                clone=casual,
            )
        )
        poor.append(
            OutcomeFactory(
                output_text=POOR_TEXT.format(index),
                occurred_at=day.replace(hour=20),
                clone=formal,
            )
        )
    for outcome in good:
        FeedbackEntryFactory(outcome=outcome, user=rep, rating=1)
    for outcome in poor:
        FeedbackEntryFactory(outcome=outcome, user=rep, rating=-1)
    for index in range(2):
        neutral = OutcomeFactory(output_text=POOR_TEXT.format(f"n{index}"))
        FeedbackEntryFactory(outcome=neutral, user=rep, rating=0)
    return good, poor


def test_extraction_finds_what_the_well_rated_outputs_share(crafted):
    good, _ = crafted
    result = learnings_extract()

    found = set(Learning.objects.values_list("signature", flat=True))
    phrases = {signature for signature in found if ":phrase:" in signature}
    assert found - phrases == {
        "email_sent:length:short",
        "email_sent:call_to_action:meeting",
        "email_sent:time_of_day:morning",
        "email_sent:formality:casual",
    }
    assert "email_sent:phrase:quick question" in phrases
    assert len(phrases) <= 3  # the three best phrases per action type
    assert result.found == len(found) and result.created == len(found)
    short = Learning.objects.get(signature="email_sent:length:short")
    assert short.category == "length"
    assert short.action_type == action_type("email_sent")
    assert short.evidence == {
        "dimension": "length",
        "value": "short",
        "good_with": 6,
        "good_total": 6,
        "poor_with": 0,
        "poor_total": 6,
        "lift": 1.0,
    }
    assert short.relevance_score == 1.0
    assert short.confidence_score == pytest.approx(confidence(6, 6), abs=1e-9)
    assert short.success_rate == 1.0
    assert set(short.source_outcomes.values_list("pk", flat=True)) == {o.pk for o in good}
    assert "6 of 6 well-rated" in short.guidance


def test_traits_of_the_poorly_rated_outputs_do_not_become_learnings(crafted):
    learnings_extract()
    signatures = set(Learning.objects.values_list("signature", flat=True))
    assert "email_sent:length:long" not in signatures
    assert "email_sent:formality:formal" not in signatures
    assert not any("platform capabilities" in signature for signature in signatures)


def test_phrases_do_not_cross_punctuation(crafted):
    learnings_extract()
    phrases = set(
        Learning.objects.filter(category="phrasing").values_list("evidence__value", flat=True)
    )
    assert "quick question" in phrases
    assert "dana quick" not in phrases and "question could" not in phrases


def test_too_few_rated_outputs_give_no_learning(rep):
    for _ in range(2):
        FeedbackEntryFactory(outcome=OutcomeFactory(output_text="Short."), user=rep, rating=1)
        FeedbackEntryFactory(outcome=OutcomeFactory(output_text="x" * 900), user=rep, rating=-1)
    assert learnings_extract().found == 0
    assert not Learning.objects.exists()


def test_running_extraction_again_updates_evidence_and_keeps_the_use_counters(crafted):
    learnings_extract()
    short = Learning.objects.get(signature="email_sent:length:short")
    learning_application_record(learning=short, outcome="success")
    count = Learning.objects.count()

    second = learnings_extract()

    short.refresh_from_db()
    assert Learning.objects.count() == count
    assert second.created == 0
    assert short.application_count == 1
    assert short.confidence_score == pytest.approx(confidence(7, 7), abs=1e-9)


def test_run_periodic_runs_the_extraction_job_in_one_org(crafted, org, capsys):
    call_command("run_periodic", "extract_learnings", "--org", org.slug)
    assert Learning.objects.filter(signature="email_sent:length:short").exists()


def test_each_trait_is_stated_once_for_the_sql_and_the_words():
    from apps.feedback.services import extraction

    dimensions = {trait.dimension for trait in extraction.TRAITS}
    assert dimensions == set(extraction._DIMENSION_GUARDS)
    for dimension in dimensions:
        traits = [trait for trait in extraction.TRAITS if trait.dimension == dimension]
        assert traits[-1].condition == "TRUE"  # every output gets a value on it
        for trait in traits:
            assert f"WHEN {trait.condition} THEN '{trait.value}'" in extraction.EXTRACTION_SQL
    # the thresholds in the words are the thresholds in the SQL
    short = extraction.TRAITS_BY_KEY[("length", "short")]
    assert str(extraction.SHORT_BELOW) in short.description
    assert short.condition == f"char_length(output_text) < {extraction.SHORT_BELOW}"
    # tables come from the models
    for model_table in ("outcomes_outcomerecord", "feedback_feedbackentry", "personas_clone"):
        assert model_table in extraction.EXTRACTION_SQL
    assert "'inline'" not in extraction.EXTRACTION_SQL  # the kind is a parameter
