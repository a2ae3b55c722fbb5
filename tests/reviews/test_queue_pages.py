"""The queue pages: list, create and edit (manager), navigation."""

from apps.reviews.models import ReviewQueue
from apps.reviews.services import queues_fill
from tests.factories.outcomes import OutcomeFactory, action_type


def _form(quality, rep, **change) -> dict:
    return {
        "name": "Autonomous emails",
        "rubrics": [quality.pk],
        "action_types": [action_type("email_sent").pk],
        "sample_percent": "10",
        "reviewers": [rep.pk],
        "reviews_needed": "2",
        "disagreement_threshold": "0.25",
        "is_active": "on",
    } | change


def test_manager_creates_a_queue_on_the_page(page_client, manager, quality, rep):
    client = page_client(manager)
    assert client.get("/reviews/queues/new/").status_code == 200
    response = client.post("/reviews/queues/new/", _form(quality, rep))
    queue = ReviewQueue.objects.get(name="Autonomous emails")
    assert response.status_code == 302 and response.url == f"/reviews/queues/{queue.pk}/"
    assert (queue.sample_rate_bp, queue.reviews_needed) == (1000, 2)
    assert list(queue.reviewers.all()) == [rep]


def test_manager_edits_a_queue(page_client, manager, quality, rep, make_queue):
    queue = make_queue(rubrics=[quality], reviewers=[rep])
    client = page_client(manager)
    assert b'value="Emails"' in client.get(f"/reviews/queues/{queue.pk}/edit/").content
    response = client.post(f"/reviews/queues/{queue.pk}/edit/", _form(quality, rep, name="Renamed"))
    assert response.status_code == 302
    queue.refresh_from_db()
    assert queue.name == "Renamed" and queue.sample_rate_bp == 1000


def test_bad_queue_form_is_400_and_stores_nothing(page_client, manager, quality, rep):
    client = page_client(manager)
    for change in [
        {"reviewers": []},
        {"sample_percent": "120"},
        {"min_confidence": "0.8", "max_confidence": "0.2"},
        {"rubrics": []},
        {"reviews_needed": "5"},
    ]:
        response = client.post("/reviews/queues/new/", _form(quality, rep, **change))
        assert response.status_code == 400, change
    assert not ReviewQueue.objects.exists()


def test_rep_cannot_create_or_see_the_managers_view(page_client, rep, quality, make_queue):
    queue = make_queue(rubrics=[quality], reviewers=[rep])
    client = page_client(rep)
    assert client.get("/reviews/queues/new/").status_code == 403
    assert client.get(f"/reviews/queues/{queue.pk}/").status_code == 403
    assert client.get("/reviews/").status_code == 200


def test_other_organisations_queue_is_404(
    page_client, other_org, in_org, other_org_manager, quality, rep, make_queue
):
    queue = make_queue(rubrics=[quality], reviewers=[rep])
    with in_org(other_org):
        client = page_client(other_org_manager, host="globex.localhost")
        assert client.get(f"/reviews/queues/{queue.pk}/").status_code == 404
        assert queue.name.encode() not in client.get("/reviews/").content


def test_reviews_is_in_the_navigation_of_reps_and_managers(page_client, rep, manager, executive):
    assert b'href="/reviews/"' in page_client(rep).get("/reviews/").content
    assert b'href="/reviews/"' in page_client(manager).get("/reviews/").content
    assert page_client(executive).get("/reviews/").status_code == 403


def test_queue_list_runs_a_fixed_number_of_queries(
    page_client, manager, quality, rep, make_queue, django_assert_max_num_queries
):
    make_queue(name="First", rubrics=[quality], reviewers=[rep])
    client = page_client(manager)
    client.get("/reviews/")
    with django_assert_max_num_queries(12) as small:
        client.get("/reviews/")
    for index in range(6):
        make_queue(name=f"Queue {index}", rubrics=[quality], reviewers=[rep])
    OutcomeFactory.create_batch(10)
    queues_fill()
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert client.get("/reviews/").status_code == 200


def test_manager_not_assigned_sees_progress_but_no_review_button(
    page_client, manager, rep, quality, make_queue
):
    queue = make_queue(rubrics=[quality], reviewers=[rep])
    page = page_client(manager).get("/reviews/").content.decode()
    assert f"/reviews/queues/{queue.pk}/" in page
    assert f"/reviews/queues/{queue.pk}/review/" not in page
    assert page_client(manager).get(f"/reviews/queues/{queue.pk}/review/").status_code == 403
    assert (
        f"/reviews/queues/{queue.pk}/review/" in page_client(rep).get("/reviews/").content.decode()
    )
