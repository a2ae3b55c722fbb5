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
