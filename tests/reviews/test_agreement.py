"""Agreement (Krippendorff's alpha) on published data, per queue and pair; settlement."""

import pytest

from apps.reviews.agreement import krippendorff_alpha
from apps.reviews.selectors import dataset_rows, disagreements, next_item, queue_agreement
from apps.reviews.services import review_submit, settlement_record
from tests.factories.reviews import boolean_rubric

# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", example C (also the
# Wikipedia example): 4 observers, 12 units, values 1-5, missing values as None.
N = None
OBSERVERS = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, N, N, N],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, N, 3],
    [N, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, N],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, N],
]
UNITS = list(zip(*OBSERVERS, strict=True))


@pytest.mark.parametrize(
    ("level", "published"), [("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849)]
)
def test_alpha_matches_krippendorffs_published_example(level, published):
    assert round(krippendorff_alpha(UNITS, level), 3) == published


def test_alpha_is_one_for_perfect_agreement_and_undefined_without_variation():
    assert krippendorff_alpha([[1, 1], [2, 2], [3, 3]], "interval") == 1.0
    assert krippendorff_alpha([[1, 1], [1, 1]], "nominal") is None
    assert krippendorff_alpha([[1], [2, None]], "nominal") is None


def test_alpha_refuses_an_unknown_level():
    with pytest.raises(ValueError):
        krippendorff_alpha(UNITS, "ratio-ish")


@pytest.fixture
def two_reviewed(org, quality, outputs, rep, other_rep, make_queue):
    """Five items, each reviewed by rep and other_rep on quality (1-5) and correctness."""
    correct = boolean_rubric()
    queue = make_queue(rubrics=[quality, correct], reviewers=[rep, other_rep], k=2)
    rep_scores = [1, 2, 3, 4, 5]
    other_scores = [1, 2, 3, 4, 1]  # the last item: 5 against 1
    for mine, theirs in zip(rep_scores, other_scores, strict=True):
        item = next_item(queue, rep)
        review_submit(item=item, reviewer=rep, values={quality.pk: mine, correct.pk: "yes"})
        review_submit(item=item, reviewer=other_rep, values={quality.pk: theirs, correct.pk: "yes"})
    return queue, correct


def test_queue_agreement_per_rubric_and_reviewer_pair(two_reviewed, quality):
    queue, correct = two_reviewed
    agreement = queue_agreement(queue)
    by_rubric = {row["rubric"]: row for row in agreement["rubrics"]}
    expected = krippendorff_alpha([[1, 1], [2, 2], [3, 3], [4, 4], [5, 1]], "interval")
    assert by_rubric["Quality"]["alpha"] == pytest.approx(expected)
    assert by_rubric["Quality"]["items"] == 5
    assert by_rubric[correct.name]["alpha"] is None  # everyone said yes: no variation
    pair = next(row for row in agreement["pairs"] if row["rubric"] == "Quality")
    assert pair["reviewers"] == ("rory", "sasha") and pair["alpha"] == pytest.approx(expected)


def test_disagreement_beyond_threshold_goes_to_the_manager_and_settles(
    two_reviewed, quality, manager
):
    queue, _ = two_reviewed
    rows = disagreements(queue)
    assert [(row["rubric"], sorted(row["values"])) for row in rows] == [("Quality", [1.0, 5.0])]
    item_id = rows[0]["item_id"]
    item = queue.items.get(pk=item_id)
    settlement_record(item=item, rubric=quality, value=4, user=manager)
    assert disagreements(queue)[0]["settled"] == 4.0
    dataset = {row["item"]: row for row in dataset_rows(queue=queue.pk)}
    assert dataset[item_id]["item_scores"]["Quality"] == 4.0  # the settled value wins
    other = next(key for key in dataset if key != item_id)
    assert dataset[other]["item_scores"]["Quality"] == dataset[other]["scores"][0]["value"]


def test_settlement_value_is_checked(two_reviewed, quality, manager):
    queue, _ = two_reviewed
    item = queue.items.first()
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        settlement_record(item=item, rubric=quality, value=7, user=manager)


def test_manager_settles_from_the_queue_page(page_client, two_reviewed, quality, manager, rep):
    queue, _ = two_reviewed
    client = page_client(manager)
    page = client.get(f"/reviews/queues/{queue.pk}/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "Items with disagreement" in body and "rory" in body and "sasha" in body
    row = disagreements(queue)[0]
    bad = client.post(
        f"/reviews/items/{row['item_id']}/settle/", {"rubric": quality.pk, "value": "x"}
    )
    assert bad.status_code == 400
    good = client.post(
        f"/reviews/items/{row['item_id']}/settle/", {"rubric": quality.pk, "value": "3"}
    )
    assert good.status_code == 302
    assert disagreements(queue)[0]["settled"] == 3.0
    assert (
        page_client(rep)
        .post(f"/reviews/items/{row['item_id']}/settle/", {"rubric": quality.pk, "value": "3"})
        .status_code
        == 403
    )


def test_queue_page_runs_a_fixed_number_of_queries(
    page_client,
    two_reviewed,
    manager,
    django_assert_max_num_queries,
    outputs,
    rep,
    other_rep,
    quality,
):
    queue, correct = two_reviewed
    client = page_client(manager)
    with django_assert_max_num_queries(16) as small:
        client.get(f"/reviews/queues/{queue.pk}/")
    from apps.reviews.services import queues_fill
    from tests.factories.outcomes import OutcomeFactory

    OutcomeFactory.create_batch(15)
    queues_fill()
    while (item := next_item(queue, rep)) is not None:
        review_submit(item=item, reviewer=rep, values={quality.pk: 2, correct.pk: "no"})
        review_submit(item=item, reviewer=other_rep, values={quality.pk: 5, correct.pk: "yes"})
    with django_assert_max_num_queries(len(small.captured_queries)):
        client.get(f"/reviews/queues/{queue.pk}/")


def test_settle_with_a_malformed_rubric_is_404(page_client, two_reviewed, manager):
    queue, _ = two_reviewed
    item = queue.items.first()
    response = page_client(manager).post(
        f"/reviews/items/{item.pk}/settle/", {"rubric": "x", "value": "3"}
    )
    assert response.status_code == 404
