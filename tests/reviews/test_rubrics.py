"""Rubrics: validation per type, value checks, the two built-in rubrics, the pages."""

import pytest
from django.core.exceptions import ValidationError

from apps.feedback.models import FeedbackEntry
from apps.reviews.models import Rubric, Score
from apps.reviews.services import rubric_parse_value, rubric_save, rubric_validate, score_record
from tests.factories.outcomes import OutcomeFactory
from tests.factories.reviews import RubricFactory, boolean_rubric, categorical_rubric


def _errors(**kwargs) -> dict:
    with pytest.raises(ValidationError) as caught:
        rubric_validate(**kwargs)
    return caught.value.message_dict


def test_numeric_rubric_needs_a_range_and_a_step(org):
    assert set(_errors(kind="numeric")) == {"min_value", "max_value", "step"}
    assert "max_value" in _errors(kind="numeric", min_value=5, max_value=1, step=1)
    assert "step" in _errors(kind="numeric", min_value=0, max_value=1, step=0)
    assert "step" in _errors(kind="numeric", min_value=0, max_value=1, step=0.3)
    assert "step" in _errors(kind="numeric", min_value=0, max_value=10000, step=1)
    clean = rubric_validate(kind="numeric", min_value=0, max_value=10, step=0.5, labels=["x"])
    assert clean == {"kind": "numeric", "min_value": 0, "max_value": 10, "step": 0.5, "labels": []}


def test_categorical_rubric_needs_two_distinct_labels(org):
    assert "labels" in _errors(kind="categorical", labels=["only"])
    assert "labels" in _errors(kind="categorical", labels=["warm", "Warm"])
    assert "labels" in _errors(kind="categorical", labels=["warm", " "])
    clean = rubric_validate(kind="categorical", labels=[" cold ", "warm"], min_value=1)
    assert clean["labels"] == ["cold", "warm"] and clean["min_value"] is None


def test_boolean_rubric_takes_no_scale_and_unknown_type_is_refused(org):
    assert rubric_validate(kind="boolean", min_value=1, max_value=3, step=1)["min_value"] is None
    assert "kind" in _errors(kind="stars")


def test_values_are_checked_against_their_rubric(org):
    numeric = RubricFactory(min_value=0, max_value=10, step=0.5)
    assert rubric_parse_value(numeric, "7.5") == 7.5
    for bad in ["11", "7.3", "abc", None, True, "nan"]:
        with pytest.raises(ValidationError):
            rubric_parse_value(numeric, bad)
    tone = categorical_rubric()
    assert rubric_parse_value(tone, "warm") == 2.0
    assert rubric_parse_value(tone, 1) == 1.0
    for bad in [3, "hot", 1.5, -1]:
        with pytest.raises(ValidationError):
            rubric_parse_value(tone, bad)
    correct = boolean_rubric()
    assert rubric_parse_value(correct, "yes") == 1.0
    assert rubric_parse_value(correct, False) == 0.0
    with pytest.raises(ValidationError):
        rubric_parse_value(correct, "maybe")


def test_builtin_rubrics_exist_and_keep_their_scale(org):
    inline = Rubric.objects.get(builtin="inline")
    detailed = Rubric.objects.get(builtin="dashboard")
    assert (inline.min_value, inline.max_value, inline.step) == (-1, 1, 1)
    assert (detailed.min_value, detailed.max_value) == (1, 5)
    with pytest.raises(ValidationError):
        rubric_save(
            rubric=inline, name=inline.name, kind="numeric", min_value=0, max_value=10, step=1
        )
    renamed = rubric_save(
        rubric=inline, name="Thumbs", kind="numeric", min_value=-1, max_value=1, step=1
    )
    assert renamed.name == "Thumbs"


def test_a_persons_score_on_a_builtin_rubric_is_their_feedback_entry(org, rep):
    outcome = OutcomeFactory()
    inline = Rubric.objects.get(builtin="inline")
    score_record(outcome=outcome, rubric=inline, value=1, user=rep)
    entry = FeedbackEntry.objects.get(outcome=outcome, user=rep)
    assert (entry.kind, entry.rating) == ("inline", 1)
    assert not Score.objects.exists()


def test_rubric_with_scores_cannot_change_scale(org, rep):
    rubric = RubricFactory()
    score_record(outcome=OutcomeFactory(), rubric=rubric, value=3, user=rep)
    with pytest.raises(ValidationError):
        rubric_save(
            rubric=rubric, name=rubric.name, kind="numeric", min_value=0, max_value=10, step=1
        )


def test_manager_creates_a_rubric_on_the_page(page_client, manager):
    client = page_client(manager)
    assert client.get("/reviews/rubrics/").status_code == 200
    response = client.post(
        "/reviews/rubrics/",
        {"name": "Tone", "kind": "categorical", "labels": "cold\nneutral\nwarm", "is_active": "on"},
    )
    assert response.status_code == 302
    assert Rubric.objects.get(name="Tone").labels == ["cold", "neutral", "warm"]


def test_bad_rubric_is_a_form_error_and_stores_nothing(page_client, manager):
    response = page_client(manager).post(
        "/reviews/rubrics/",
        {"name": "Scale", "kind": "numeric", "min_value": "5", "max_value": "1", "step": "1"},
    )
    assert response.status_code == 400
    assert b"greater than the minimum" in response.content
    assert not Rubric.objects.filter(name="Scale").exists()


def test_rep_cannot_open_rubrics(page_client, rep):
    assert page_client(rep).get("/reviews/rubrics/").status_code == 403


def test_rubrics_page_wrong_method(page_client, manager):
    assert page_client(manager).delete("/reviews/rubrics/").status_code == 405


def test_admin_rejects_a_bad_categorical_rubric(page_client, admin_user):
    response = page_client(admin_user).post(
        "/admin/reviews/rubric/add/",
        {
            "name": "Tone",
            "kind": "categorical",
            "labels": '["one"]',
            "description": "",
            "is_active": "on",
        },
    )
    assert response.status_code == 200  # the form again, with the error
    assert b"2 to 20 labels" in response.content
    assert not Rubric.objects.filter(name="Tone").exists()


def test_extreme_numbers_are_errors_not_crashes(org):
    assert "step" in _errors(kind="numeric", min_value=-1e308, max_value=1e308, step=1e-300)
    rubric = RubricFactory()
    for bad in [10**400, "1e400", float("inf")]:
        with pytest.raises(ValidationError):
            rubric_parse_value(rubric, bad)
    with pytest.raises(ValidationError):
        rubric_parse_value(categorical_rubric(), 10**400)
