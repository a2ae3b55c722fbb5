import random
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from apps.feedback.models import Learning
from apps.feedback.scoring import confidence
from apps.feedback.selectors import learnings_ranked
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
        "lift_low": short.evidence["lift_low"],
    }
    # Relevance is the lift's 95 % lower bound: six against six leaves room for doubt.
    assert 0.5 < short.relevance_score == short.evidence["lift_low"] < 1.0
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


def _adopting_agent(rep):
    """Six days of 30 rated emails. Short ones are rated well (80 % against 20 %); a
    question mark does nothing. From day 2 the agent writes short emails and asks questions
    90 % of the time (it was told both), so over all days the well-rated outputs hold more
    questions than the poor ones although, on any one day, a question changes nothing."""
    rng = random.Random(5)
    clone = CloneFactory(owner=rep, formal_casual=50, concise_detailed=50)
    start = (timezone.now() - timedelta(days=8)).replace(hour=10, minute=0, microsecond=0)
    for day in range(6):
        adopted = 0.9 if day >= 2 else 0.15
        for index in range(30):
            short, question = rng.random() < adopted, rng.random() < adopted
            text = "Here is the pricing sheet" + ("?" if question else ".")
            if not short:
                text += " Our platform covers reporting, forecasting and planning." * 6
            good = rng.random() < (0.8 if short else 0.2)
            outcome = OutcomeFactory(
                output_text=f"{text} ({day}-{index})",
                occurred_at=start + timedelta(days=day, minutes=index),
                clone=clone,
            )
            FeedbackEntryFactory(outcome=outcome, user=rep, rating=1 if good else -1)


def test_a_trait_without_effect_taken_up_with_a_good_one_is_not_learned(rep):
    _adopting_agent(rep)
    learnings_extract()

    ranked = [learning.signature for learning in learnings_ranked(action_type="email_sent")]
    assert ranked[0] == "email_sent:length:short"
    assert "email_sent:call_to_action:question" not in ranked
    # Pooled over the days, the questions do look good: the comparison within a day is
    # what keeps them out.
    question = Learning.objects.filter(signature="email_sent:call_to_action:question")
    assert not question.exists() or question.get().relevance_score == 0


def test_a_learning_the_evidence_stops_supporting_leaves_the_agents_list(crafted, rep):
    learnings_extract()
    assert Learning.objects.filter(signature="email_sent:time_of_day:morning").exists()
    # Later days: morning and evening outputs rated alike, many more of them.
    start = (timezone.now() - timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
    for index in range(40):
        outcome = OutcomeFactory(
            output_text=POOR_TEXT.format(f"later-{index}"),
            occurred_at=start.replace(hour=9 if index % 2 else 20),
        )
        FeedbackEntryFactory(outcome=outcome, user=rep, rating=1 if index % 4 < 2 else -1)

    learnings_extract()

    morning = Learning.objects.get(signature="email_sent:time_of_day:morning")
    assert morning.relevance_score == 0 and morning.is_active
    assert morning not in learnings_ranked()
    assert morning in learnings_ranked(include_hurting=True)


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
