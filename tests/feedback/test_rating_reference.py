"""What a rating refers to, for a caller who sees every output (a manager): the outcome id
is read with SQL compiled once (``outcome_visible_id``), and still answers only for a live
output of this organisation, with the API's 400 and the page's 404 otherwise."""

from __future__ import annotations

import pytest

from apps.feedback.models import FeedbackEntry
from apps.outcomes.services import outcome_delete
from tests.factories.outcomes import OutcomeFactory

FEEDBACK = "/api/v1/feedback/"


def _rate(api, outcome_id):
    return api.post(FEEDBACK, {"outcome": outcome_id, "kind": "inline", "rating": 1}, format="json")


def test_a_manager_rates_any_live_output(manager_api, manager, rory_output):
    assert _rate(manager_api, rory_output.pk).status_code == 201
    assert FeedbackEntry.objects.get().outcome == rory_output


@pytest.mark.parametrize(
    "reference, message",
    [
        ("deleted", "does not exist"),
        ("globex", "does not exist"),
        (2**70, "does not exist"),
        ("seven", "Incorrect type"),
        (True, "Incorrect type"),
        ([1], "Incorrect type"),
    ],
)
def test_other_references_are_a_400_that_stores_nothing(
    manager_api, rory_output, globex_output, reference, message
):
    if reference == "deleted":
        outcome = OutcomeFactory()
        outcome_delete(outcome=outcome, actor="test")
        reference = outcome.pk
    elif reference == "globex":
        reference = globex_output.pk
    response = _rate(manager_api, reference)
    assert response.status_code == 400
    assert message in response.json()["outcome"][0]
    assert not FeedbackEntry.objects.exists()


def test_the_inline_rating_page_answers_404_for_another_orgs_output(
    page_client, manager, globex_output, rory_output
):
    browser = page_client(manager)
    if globex_output.pk == rory_output.pk:  # separate sequences: make the ids differ
        rory_output.delete()
    response = browser.post(f"/feedback/outcomes/{globex_output.pk}/rate/", {"rating": 1})
    assert response.status_code == 404
    assert not FeedbackEntry.objects.exists()


@pytest.mark.parametrize(
    "wrong, field",
    [({"rating": 7}, "rating"), ({"kind": "bogus"}, "kind")],  # by the service; by DRF
)
def test_with_another_field_wrong_the_400_still_names_a_missing_outcome(
    manager_api, globex_output, wrong, field
):
    """The outcome is checked by the rating's own statement; a rating refused for another
    field is never written, so the outcome is checked apart, and the 400 names both."""
    body = {"outcome": globex_output.pk, "kind": "inline", "rating": 1} | wrong
    response = manager_api.post(FEEDBACK, body, format="json")
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"outcome", field}
    assert "does not exist" in body["outcome"][0]
    assert not FeedbackEntry.objects.exists()


def test_a_rating_of_a_live_output_with_a_bad_field_names_that_field_alone(
    manager_api, rory_output
):
    response = manager_api.post(
        FEEDBACK, {"outcome": rory_output.pk, "kind": "inline", "rating": 7}, format="json"
    )
    assert response.status_code == 400 and list(response.json()) == ["rating"]
