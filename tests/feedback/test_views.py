import pytest
from django.urls import reverse

from apps.feedback.models import FeedbackEntry
from apps.outcomes.models import OutcomeRecord
from tests.conftest import OTHER_HOST
from tests.factories.crm import AccountFactory
from tests.factories.feedback import FeedbackEntryFactory
from tests.factories.outcomes import OutcomeFactory, action_type

REVIEW = "/feedback/review/"
HTMX = {"HTTP_HX_REQUEST": "true"}


def rate_url(outcome) -> str:
    return reverse("feedback:rate", args=[outcome.pk])


def outcome_url(outcome) -> str:
    return reverse("feedback:outcome", args=[outcome.pk])


# --- the review feed ----------------------------------------------------------------------


def test_a_rep_sees_outputs_of_their_accounts_unrated_first(page_client, rep, sasha_output):
    account = AccountFactory(owner=rep, name="Bluefin Logistics")
    rated = OutcomeFactory(account=account, output_text="Already rated text")
    unrated = OutcomeFactory(account=account, output_text="Waiting for a verdict")
    FeedbackEntryFactory(outcome=rated, user=rep, rating=1)

    response = page_client(rep).get(REVIEW)

    assert response.status_code == 200
    outcomes = list(response.context["page_obj"])
    assert outcomes == [unrated, rated]
    html = response.content.decode()
    assert "Waiting for a verdict" in html and "Bluefin Logistics" in html
    assert 'aria-pressed="true"' in html  # the +1 on the rated one shows as chosen


def test_the_feed_filters_by_status_action_type_and_rated(page_client, rep):
    account = AccountFactory(owner=rep)
    email = OutcomeFactory(account=account)
    meeting = OutcomeFactory(account=account, action_type=action_type("meeting_request"))
    FeedbackEntryFactory(outcome=meeting, user=rep, rating=0)
    client = page_client(rep)

    by_type = client.get(REVIEW, {"action_type": "meeting_request"}).context["page_obj"]
    assert list(by_type) == [meeting]
    unrated = client.get(REVIEW, {"rated": "unrated"}).context["page_obj"]
    assert list(unrated) == [email]
    resolved = client.get(REVIEW, {"status": "resolved"}).context["page_obj"]
    assert list(resolved) == []


def test_the_feed_paginates(page_client, rep):
    account = AccountFactory(owner=rep)
    OutcomeFactory.create_batch(25, account=account)
    client = page_client(rep)
    first = client.get(REVIEW)
    second = client.get(REVIEW, {"page": 2})
    assert len(first.context["page_obj"]) == 20
    assert len(second.context["page_obj"]) == 5
    assert 'rel="next"' in first.content.decode()


def test_htmx_filtering_returns_only_the_feed(page_client, rep, rory_output):
    response = page_client(rep).get(REVIEW, {"rated": "unrated"}, **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="feed"')
    assert "<html" not in html


@pytest.mark.parametrize("query", [{"status": "bogus"}, {"page": "zero"}, {"action_type": "x"}])
def test_bad_filters_are_a_400_with_the_form_error(page_client, rep, query):
    response = page_client(rep).get(REVIEW, query)
    assert response.status_code == 400
    assert "form-error" in response.content.decode()


def test_the_feed_runs_a_fixed_number_of_queries(page_client, rep, django_assert_max_num_queries):
    account = AccountFactory(owner=rep)
    OutcomeFactory.create_batch(2, account=account)
    client = page_client(rep)
    with django_assert_max_num_queries(9) as small:
        client.get(REVIEW)
    for outcome in OutcomeFactory.create_batch(30, account=account):
        FeedbackEntryFactory(outcome=outcome, user=rep, rating=1)
    with django_assert_max_num_queries(len(small)):
        assert client.get(REVIEW).status_code == 200


def test_an_executive_has_no_review_feed(page_client, executive):
    assert page_client(executive).get(REVIEW).status_code == 403


def test_the_feed_needs_a_login(page_client):
    response = page_client().get(REVIEW)
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_the_feed_is_read_only(page_client, rep):
    assert page_client(rep).post(REVIEW).status_code == 405


def test_a_session_of_acme_is_not_valid_on_globex(page_client, rep, other_org):
    response = page_client(rep, host=OTHER_HOST).get(REVIEW)
    assert response.status_code == 302 and "/login/" in response["Location"]


# --- inline rating ------------------------------------------------------------------------


def test_one_click_rating_through_htmx_returns_the_partial_in_its_new_state(
    page_client, rep, rory_output
):
    response = page_client(rep).post(rate_url(rory_output), {"rating": "1"}, **HTMX)

    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith("<form")
    assert 'value="1" class="pos" aria-pressed="true"' in html
    assert 'value="-1" class="neg" aria-pressed="false"' in html
    assert "Rated +1" in response["HX-Trigger"]
    assert FeedbackEntry.objects.get().rating == 1


def test_changing_the_rating_keeps_one_entry(page_client, rep, rory_output):
    client = page_client(rep)
    client.post(rate_url(rory_output), {"rating": "1"}, **HTMX)
    client.post(rate_url(rory_output), {"rating": "-1"}, **HTMX)
    assert FeedbackEntry.objects.get().rating == -1


def test_rating_without_javascript_redirects_back_to_the_feed(page_client, rep, rory_output):
    response = page_client(rep).post(
        rate_url(rory_output), {"rating": "0", "next": "/feedback/review/?rated=unrated"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/feedback/review/?rated=unrated"
    assert FeedbackEntry.objects.get().rating == 0


def test_rating_never_redirects_to_another_site(page_client, rep, rory_output):
    response = page_client(rep).post(
        rate_url(rory_output), {"rating": "0", "next": "https://evil.example/"}
    )
    assert response["Location"] == outcome_url(rory_output)


@pytest.mark.parametrize("rating", ["2", "", "plus"])
def test_a_bad_inline_rating_is_a_400_and_stores_nothing(page_client, rep, rory_output, rating):
    client = page_client(rep)
    htmx = client.post(rate_url(rory_output), {"rating": rating}, **HTMX)
    plain = client.post(rate_url(rory_output), {"rating": rating})
    assert htmx.status_code == plain.status_code == 400
    assert "form-error" in htmx.content.decode()
    assert "form-error" in plain.content.decode() and "<html" in plain.content.decode()
    assert not FeedbackEntry.objects.exists()


def test_a_rep_cannot_rate_another_reps_output(page_client, rep, sasha_output):
    response = page_client(rep).post(rate_url(sasha_output), {"rating": "1"}, **HTMX)
    assert response.status_code == 404
    assert not FeedbackEntry.objects.exists()


def test_an_executive_cannot_rate(page_client, executive, rory_output):
    response = page_client(executive).post(rate_url(rory_output), {"rating": "1"})
    assert response.status_code == 403
    assert not FeedbackEntry.objects.exists()


def test_a_manager_may_rate_outputs_of_their_team(page_client, manager, rory_output):
    assert page_client(manager).post(rate_url(rory_output), {"rating": "1"}).status_code == 302


def test_an_output_id_of_another_org_is_a_404(page_client, rep, globex_output):
    assert not OutcomeRecord.objects.filter(pk=globex_output.pk).exists()
    response = page_client(rep).post(rate_url(globex_output), {"rating": "1"})
    assert response.status_code == 404


def test_rating_is_post_only(page_client, rep, rory_output):
    assert page_client(rep).get(rate_url(rory_output)).status_code == 405


# --- detailed feedback --------------------------------------------------------------------

DETAILED = {
    "rating": "4",
    "comment": "Good, but cut the second paragraph",
    "usefulness": "4",
    "quality": "5",
    "clarity": "",
    "likelihood_to_reuse": "8",
    "would_recommend": "true",
}


def test_the_outcome_page_shows_the_output_and_both_rating_forms(page_client, rep, rory_output):
    response = page_client(rep).get(outcome_url(rory_output))
    html = response.content.decode()
    assert response.status_code == 200
    assert rory_output.output_text in html
    assert 'class="rating-form"' in html and 'id="detailed-form"' in html


def test_detailed_feedback_is_saved_and_shown_again(page_client, rep, rory_output):
    client = page_client(rep)
    response = client.post(outcome_url(rory_output), DETAILED)
    assert response.status_code == 302
    entry = FeedbackEntry.objects.get(kind="dashboard")
    assert (entry.rating, entry.usefulness, entry.clarity, entry.would_recommend) == (
        4,
        4,
        None,
        True,
    )
    page = client.get(outcome_url(rory_output))
    assert page.context["form"].initial["comment"] == "Good, but cut the second paragraph"


def test_detailed_feedback_through_htmx_returns_the_saved_form(page_client, rep, rory_output):
    response = page_client(rep).post(outcome_url(rory_output), DETAILED, **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<form id="detailed-form"') and "Saved" in html
    assert FeedbackEntry.objects.filter(kind="dashboard").count() == 1


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"rating": ""}, "Choose an overall rating"),
        ({"rating": "6"}, "between 1 and 5"),
        ({"likelihood_to_reuse": "11"}, "Select a valid choice"),
        ({"comment": "x" * 2001}, "at most 2000"),
    ],
)
def test_bad_detailed_feedback_shows_form_errors_and_stores_nothing(
    page_client, rep, rory_output, change, message
):
    client = page_client(rep)
    plain = client.post(outcome_url(rory_output), DETAILED | change)
    htmx = client.post(outcome_url(rory_output), DETAILED | change, **HTMX)
    assert plain.status_code == htmx.status_code == 400
    assert message in plain.content.decode() and message in htmx.content.decode()
    assert not FeedbackEntry.objects.exists()


def test_the_detailed_form_of_another_reps_output_is_a_404(page_client, rep, sasha_output):
    client = page_client(rep)
    assert client.get(outcome_url(sasha_output)).status_code == 404
    assert client.post(outcome_url(sasha_output), DETAILED).status_code == 404


def test_the_detailed_form_refuses_other_methods_and_roles(
    page_client, rep, executive, rory_output
):
    assert page_client(rep).delete(outcome_url(rory_output)).status_code == 405
    assert page_client(executive).get(outcome_url(rory_output)).status_code == 403


def test_a_rating_save_runs_a_fixed_small_number_of_queries(
    page_client, rep, rory_output, django_assert_max_num_queries
):
    client = page_client(rep)
    client.post(rate_url(rory_output), {"rating": "1"}, **HTMX)
    with django_assert_max_num_queries(12):
        response = client.post(rate_url(rory_output), {"rating": "0"}, **HTMX)
    assert response.status_code == 200


def test_the_feed_never_shows_outputs_of_another_org(
    page_client, manager, rory_output, globex_output
):
    response = page_client(manager).get(REVIEW)
    assert list(response.context["page_obj"]) == [rory_output]
    assert globex_output.external_id not in response.content.decode()
