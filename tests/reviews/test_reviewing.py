"""Assignment, K reviews per item, the reviewer's page and its flow, corrections."""

import pytest
from django.core.exceptions import ValidationError

from apps.feedback.models import FeedbackEntry
from apps.reviews.models import Correction, Review, ReviewItem, Score
from apps.reviews.selectors import next_item, queues_visible_to
from apps.reviews.services import ItemFull, correction_record, review_skip, review_submit
from tests.factories.crm import AccountFactory
from tests.factories.outcomes import OutcomeFactory
from tests.factories.reviews import categorical_rubric


def test_rep_sees_only_queues_assigned_to_them(org, quality, rep, other_rep, manager, make_queue):
    mine = make_queue(name="Mine", rubrics=[quality], reviewers=[rep])
    by_role = make_queue(name="All reps", rubrics=[quality], roles=["rep"])
    theirs = make_queue(name="Theirs", rubrics=[quality], reviewers=[other_rep])
    assert set(queues_visible_to(rep)) == {mine, by_role}
    assert set(queues_visible_to(manager)) == {mine, by_role, theirs}


def test_rep_cannot_open_a_queue_not_assigned_to_them(
    page_client, org, quality, other_rep, rep, make_queue
):
    theirs = make_queue(rubrics=[quality], reviewers=[other_rep])
    assert page_client(rep).get(f"/reviews/queues/{theirs.pk}/review/").status_code == 404
    listing = page_client(rep).get("/reviews/")
    assert theirs.name.encode() not in listing.content


def test_each_item_takes_k_reviews_from_distinct_reviewers(
    org, quality, outputs, rep, other_rep, third_rep, make_queue
):
    queue = make_queue(rubrics=[quality], reviewers=[rep, other_rep, third_rep], k=2)
    item = next_item(queue, rep)
    review_submit(item=item, reviewer=rep, values={quality.pk: 4})
    review_submit(item=item, reviewer=rep, values={quality.pk: 5})  # again: updates
    item.refresh_from_db()
    assert item.reviews_done == 1
    assert Score.objects.get(outcome=item.outcome, user=rep).value == 5
    # The partly reviewed item goes to the next reviewer first, never back to rep.
    assert next_item(queue, other_rep) == item
    assert next_item(queue, rep) != item
    review_submit(item=item, reviewer=other_rep, values={quality.pk: 4})
    assert next_item(queue, third_rep) != item  # it has its two reviews
    with pytest.raises(ItemFull):
        review_submit(item=item, reviewer=third_rep, values={quality.pk: 1})
    assert not Review.objects.filter(item=item, reviewer=third_rep).exists()
    assert not Score.objects.filter(outcome=item.outcome, user=third_rep).exists()


def test_skipped_item_is_not_offered_again(org, quality, outputs, rep, make_queue):
    queue = make_queue(rubrics=[quality], reviewers=[rep])
    first = next_item(queue, rep)
    review_skip(item=first, reviewer=rep)
    review_skip(item=first, reviewer=rep)
    assert next_item(queue, rep) != first
    first.refresh_from_db()
    assert first.reviews_done == 0


def test_every_rubric_must_be_scored_and_bad_values_store_nothing(
    org, quality, outputs, rep, make_queue
):
    tone = categorical_rubric()
    queue = make_queue(rubrics=[quality, tone], reviewers=[rep])
    item = next_item(queue, rep)
    with pytest.raises(ValidationError) as missing:
        review_submit(item=item, reviewer=rep, values={quality.pk: 3})
    assert "scores" in missing.value.message_dict
    with pytest.raises(ValidationError) as bad:
        review_submit(item=item, reviewer=rep, values={quality.pk: 9, tone.pk: "warm"})
    assert f"rubric_{quality.pk}" in bad.value.message_dict
    assert not Score.objects.exists() and not Review.objects.exists()


def test_correction_is_stored_with_its_diff_and_counts_as_feedback(org, rep):
    outcome = OutcomeFactory(output_text="Hi Dana,\nBuy now.\nBest")
    correction = correction_record(
        outcome=outcome, author=rep, text="Hi Dana,\nWould Tuesday suit?\nBest"
    )
    assert "-Buy now." in correction.diff and "+Would Tuesday suit?" in correction.diff
    assert correction.original_text == "Hi Dana,\nBuy now.\nBest"
    entry = FeedbackEntry.objects.get(outcome=outcome, user=rep)
    assert (entry.kind, entry.rating) == ("inline", -1)
    with pytest.raises(ValidationError):
        correction_record(outcome=outcome, author=rep, text="Hi Dana,\nBuy now.\nBest")
    with pytest.raises(ValidationError):
        correction_record(outcome=outcome, author=rep, text="   ")


def test_correction_keeps_an_existing_inline_rating(org, rep):
    outcome = OutcomeFactory()
    FeedbackEntry.objects.create(outcome=outcome, user=rep, kind="inline", rating=1)
    correction_record(outcome=outcome, author=rep, text="A better email.")
    assert FeedbackEntry.objects.get(outcome=outcome, user=rep).rating == 1


# --- The reviewer's page ----------------------------------------------------------------


def test_review_page_shows_one_item_with_its_context_and_progress(
    page_client, org, quality, rep, make_queue
):
    account = AccountFactory(name="Bluefin Logistics", industry="logistics")
    OutcomeFactory(account=account, output_text="Hi Dana, the pricing you asked for.")
    queue = make_queue(rubrics=[quality], reviewers=[rep])
    page = page_client(rep).get(f"/reviews/queues/{queue.pk}/review/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "Bluefin Logistics" in body and "logistics" in body
    assert "the pricing you asked for" in body
    assert "0 / 1" in body  # items done / total
    assert 'data-key="5"' in body  # keyboard: 1-5 pick the quality score


def test_submitting_moves_to_the_next_item(page_client, org, quality, outputs, rep, make_queue):
    queue = make_queue(rubrics=[quality], reviewers=[rep])
    client = page_client(rep)
    first = next_item(queue, rep)
    response = client.post(
        f"/reviews/queues/{queue.pk}/items/{first.pk}/",
        {"action": "submit", f"rubric_{quality.pk}": "4", "correction": "Hi Dana, a better draft."},
    )
    assert response.status_code == 302 and response.url == f"/reviews/queues/{queue.pk}/review/"
    assert (
        Correction.objects.get(outcome=first.outcome, author=rep).corrected_text
        == "Hi Dana, a better draft."
    )
    following = client.get(response.url)
    assert f'data-item="{first.pk}"' not in following.content.decode()
    assert f'data-item="{next_item(queue, rep).pk}"' in following.content.decode()


def test_skip_from_the_page(page_client, org, quality, outputs, rep, make_queue):
    queue = make_queue(rubrics=[quality], reviewers=[rep])
    first = next_item(queue, rep)
    page_client(rep).post(f"/reviews/queues/{queue.pk}/items/{first.pk}/", {"action": "skip"})
    assert Review.objects.get(item=first, reviewer=rep).status == "skipped"


def test_bad_score_is_a_400_with_the_form_again(
    page_client, org, quality, outputs, rep, make_queue
):
    queue = make_queue(rubrics=[quality], reviewers=[rep])
    first = next_item(queue, rep)
    response = page_client(rep).post(
        f"/reviews/queues/{queue.pk}/items/{first.pk}/",
        {"action": "submit", f"rubric_{quality.pk}": "12"},
    )
    assert response.status_code == 400
    assert b"takes 1 to 5" in response.content
    assert not Review.objects.exists()


def test_review_endpoints_refuse_wrong_method_and_role(
    page_client, org, quality, outputs, rep, executive, make_queue
):
    queue = make_queue(rubrics=[quality], reviewers=[rep])
    assert page_client(rep).post(f"/reviews/queues/{queue.pk}/review/").status_code == 405
    assert page_client(executive).get(f"/reviews/queues/{queue.pk}/review/").status_code == 403


def test_empty_queue_says_all_done(page_client, org, quality, rep, make_queue):
    queue = make_queue(rubrics=[quality], reviewers=[rep])
    assert b"All done here" in page_client(rep).get(f"/reviews/queues/{queue.pk}/review/").content


def test_review_page_runs_a_fixed_number_of_queries(
    page_client, org, quality, rep, other_rep, make_queue, django_assert_max_num_queries
):
    tone = categorical_rubric()
    queue = make_queue(rubrics=[quality, tone], reviewers=[rep, other_rep], k=2)
    client = page_client(rep)
    OutcomeFactory.create_batch(2)
    from apps.reviews.services import queues_fill

    queues_fill()
    with django_assert_max_num_queries(14) as small:
        client.get(f"/reviews/queues/{queue.pk}/review/")
    OutcomeFactory.create_batch(30)
    queues_fill()
    for item in ReviewItem.objects.filter(queue=queue)[:10]:
        review_submit(item=item, reviewer=other_rep, values={quality.pk: 3, tone.pk: "warm"})
    with django_assert_max_num_queries(len(small.captured_queries)):
        client.get(f"/reviews/queues/{queue.pk}/review/")


def test_inline_correction_page_on_any_output_i_may_rate(page_client, org, rep, other_rep):
    mine = OutcomeFactory(account=AccountFactory(owner=rep))
    theirs = OutcomeFactory(account=AccountFactory(owner=other_rep))
    client = page_client(rep)
    assert client.get(f"/reviews/outcomes/{mine.pk}/correct/").status_code == 200
    assert client.get(f"/reviews/outcomes/{theirs.pk}/correct/").status_code == 404
    response = client.post(f"/reviews/outcomes/{mine.pk}/correct/", {"correction": "Better words."})
    assert response.status_code == 302
    assert Correction.objects.get(outcome=mine).diff
    assert (
        client.post(f"/reviews/outcomes/{mine.pk}/correct/", {"correction": ""}).status_code == 400
    )


def test_the_inline_rating_links_to_the_correction(page_client, org, rep):
    outcome = OutcomeFactory(account=AccountFactory(owner=rep))
    page = page_client(rep).get("/feedback/review/")
    assert f"/reviews/outcomes/{outcome.pk}/correct/".encode() in page.content
