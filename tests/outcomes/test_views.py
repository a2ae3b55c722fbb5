"""The outcomes list, one outcome, and the calibration page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from apps.outcomes.services import calibration_recompute
from tests.factories.crm import AccountFactory
from tests.factories.outcomes import CloneFactory, OutcomeFactory, action_type

LIST = "/outcomes/"
CALIBRATION = "/outcomes/calibration/"


def decided(account, confidence: float, score: float, code: str = "email_sent", **extra):
    occurred = timezone.now() - timedelta(days=2)
    return OutcomeFactory(
        account=account,
        action_type=action_type(code),
        predicted_confidence=confidence,
        occurred_at=occurred,
        status="resolved" if score else "expired",
        score=score,
        resolved_at=occurred + timedelta(hours=3),
        **extra,
    )


@pytest.fixture
def account(org):
    return AccountFactory(name="Bluefin Logistics")


def test_the_list_shows_outcomes_with_status_counts(page_client, manager, account):
    OutcomeFactory(account=account, output_text="Hi Dana, pricing attached.")
    decided(account, 0.8, 0.0)
    response = page_client(manager).get(LIST)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Bluefin Logistics" in html and "Hi Dana, pricing attached." in html
    tabs = response.context["tabs"]
    assert {tab["value"]: tab["count"] for tab in tabs} == {
        "": 2,
        "pending": 1,
        "resolved": 0,
        "expired": 1,
    }


def test_status_counts_stop_at_the_cap_and_say_so(page_client, manager, account, monkeypatch):
    monkeypatch.setattr("apps.outcomes.selectors.STATUS_COUNT_CAP", 2)
    OutcomeFactory.create_batch(4, account=account)
    decided(account, 0.8, 0.0)
    response = page_client(manager).get(LIST)
    labels = {tab["value"]: tab["count_label"] for tab in response.context["tabs"]}
    assert labels == {"": "2+", "pending": "2+", "resolved": "0", "expired": "1"}
    assert '<span class="tab-count">2+</span>' in response.content.decode()


def test_the_status_filter_shows_only_that_status(page_client, manager, account):
    OutcomeFactory(account=account, external_id="still-pending")
    decided(account, 0.8, 0.0, external_id="ran-out")
    response = page_client(manager).get(LIST + "?status=expired")
    assert [r.external_id for r in response.context["rows"]] == ["ran-out"]


def test_filters_by_action_type_and_clone(page_client, manager, account):
    clone = CloneFactory(external_id="clone-x")
    OutcomeFactory(account=account, external_id="with-clone", clone=clone)
    OutcomeFactory(account=account, external_id="escalated", action_type=action_type("escalation"))
    client = page_client(manager)
    rows = client.get(LIST + "?clone=clone-x").context["rows"]
    assert [r.external_id for r in rows] == ["with-clone"]
    rows = client.get(LIST + "?action_type=escalation").context["rows"]
    assert [r.external_id for r in rows] == ["escalated"]


def test_htmx_gets_only_the_results_and_a_plain_request_the_full_page(
    page_client, manager, account
):
    OutcomeFactory(account=account)
    client = page_client(manager)
    partial = client.get(LIST + "?status=pending", HTTP_HX_REQUEST="true").content.decode()
    full = client.get(LIST + "?status=pending").content.decode()
    assert partial.lstrip().startswith('<div id="outcome-results">')
    assert "<html" not in partial and "Bluefin Logistics" in partial
    assert "<html" in full and 'id="outcome-results"' in full


def test_the_list_is_in_the_order_actions_happened_not_the_order_they_arrived(
    page_client, manager, account
):
    now = timezone.now()
    late = OutcomeFactory(account=account, occurred_at=now - timedelta(days=3))  # sent last
    early = OutcomeFactory(account=account, occurred_at=now - timedelta(hours=1))
    recent = OutcomeFactory(account=account, occurred_at=now - timedelta(minutes=5))
    rows = page_client(manager).get(LIST).context["rows"]
    assert [row.pk for row in rows] == [recent.pk, early.pk, late.pk]


def test_older_pages_follow_the_time_and_id_keyset(page_client, manager, account):
    now = timezone.now()
    # 30 share one moment (ties broken by id), the rest arrive out of time order.
    OutcomeFactory.create_batch(30, account=account, occurred_at=now - timedelta(hours=1))
    for hours in [5, 2, 9, 3, 7] * 5:
        OutcomeFactory(account=account, occurred_at=now - timedelta(hours=hours))
    client = page_client(manager)
    first = client.get(LIST)
    assert len(first.context["rows"]) == 50 and first.context["older_query"]
    second = client.get(LIST + first.context["older_query"])
    assert len(second.context["rows"]) == 5
    assert not second.context["older_query"]
    seen = [row.pk for row in first.context["rows"] + second.context["rows"]]
    ordered = sorted(
        OutcomeFactory._meta.model.objects.filter(account=account),
        key=lambda record: (record.occurred_at, record.pk),
        reverse=True,
    )
    assert seen == [record.pk for record in ordered]  # every record once, in order


@pytest.mark.parametrize("query", ["?status=maybe", "?before=abc", "?action_type=fax"])
def test_bad_filters_are_a_400_with_a_message(page_client, manager, account, query):
    response = page_client(manager).get(LIST + query)
    assert response.status_code == 400
    assert 'class="form-error"' in response.content.decode()


def test_a_rep_sees_only_outcomes_of_their_accounts(page_client, rep, account):
    OutcomeFactory(account=AccountFactory(owner=rep), external_id="mine")
    OutcomeFactory(account=account, external_id="not-mine")
    rows = page_client(rep).get(LIST).context["rows"]
    assert [r.external_id for r in rows] == ["mine"]


def test_the_list_needs_a_login(page_client, account):
    response = page_client().get(LIST)
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_a_session_of_another_organisation_is_not_a_login_here(
    other_org, in_org, other_org_manager, account
):
    with in_org(other_org):
        client = Client(HTTP_HOST="acme.localhost")
        client.force_login(other_org_manager)  # session stored in globex's schema
    response = client.get(LIST)
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_posting_to_the_pages_is_not_allowed(page_client, manager, account):
    client = page_client(manager)
    assert client.post(LIST).status_code == 405
    assert client.post(CALIBRATION).status_code == 405


def test_the_list_runs_a_fixed_number_of_queries(
    page_client, manager, account, django_assert_max_num_queries
):
    clone = CloneFactory()
    client = page_client(manager)
    OutcomeFactory.create_batch(2, account=account, clone=clone)
    with django_assert_max_num_queries(9):
        client.get(LIST)
    OutcomeFactory.create_batch(80, account=account, clone=clone)
    with django_assert_max_num_queries(9):
        client.get(LIST)


def test_the_detail_shows_output_and_resolution(page_client, manager, account):
    record = decided(account, 0.9, 1.0, output_text="Hi Tom, shall we meet Tuesday?")
    response = page_client(manager).get(f"/outcomes/{record.pk}/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Hi Tom, shall we meet Tuesday?" in html and "Resolved" in html


def test_the_detail_of_another_organisations_outcome_is_a_404(
    page_client, manager, other_org, in_org
):
    with in_org(other_org):
        foreign = OutcomeFactory()
    assert page_client(manager).get(f"/outcomes/{foreign.pk}/").status_code == 404


def test_the_status_counts_leave_out_another_organisations_outcomes(
    page_client, manager, account, other_org, in_org
):
    OutcomeFactory(account=account)
    with in_org(other_org):
        OutcomeFactory.create_batch(3)
        decided(AccountFactory(), 0.8, 0.0)
    tabs = page_client(manager).get(LIST).context["tabs"]
    assert {tab["value"]: tab["count"] for tab in tabs} == {
        "": 1,
        "pending": 1,
        "resolved": 0,
        "expired": 0,
    }


def test_a_rep_cannot_open_an_outcome_on_someone_elses_account(page_client, rep, account):
    record = OutcomeFactory(account=account)
    assert page_client(rep).get(f"/outcomes/{record.pk}/").status_code == 404


# --- calibration page ---------------------------------------------------------------------


@pytest.fixture
def calibrated(account):
    for confidence, score in [(0.15, 0.0), (0.15, 1.0), (0.85, 1.0), (0.9, 0.0), (1.0, 1.0)]:
        decided(account, confidence, score)
    calibration_recompute()


@pytest.mark.parametrize("who", ["manager", "executive"])
def test_managers_and_executives_see_a_reliability_diagram_per_action_type(
    page_client, request, calibrated, who
):
    response = page_client(request.getfixturevalue(who)).get(CALIBRATION)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('<svg class="reliability"') == 1  # only email_sent has data
    assert 'class="diagonal"' in html and "n=2" in html
    email = next(r for r in response.context["reports"] if r["action_type"] == "email_sent")
    assert email["ece"] == pytest.approx(0.35)
    # mean predicted 0.61 vs actual 0.60, but ECE 0.35: off both ways
    assert "Mixed:" in html
    assert html.count("No decided outcomes yet") == 3


def test_a_rep_cannot_open_the_calibration_page(page_client, rep, calibrated):
    assert page_client(rep).get(CALIBRATION).status_code == 403


def test_the_calibration_page_shows_only_this_organisations_data(
    page_client, other_org_manager, other_org, in_org, calibrated
):
    with in_org(other_org):
        client = Client(HTTP_HOST="globex.localhost")
        client.force_login(other_org_manager)
        response = client.get(CALIBRATION)
    assert response.status_code == 200
    assert "No decided outcomes yet" in response.content.decode()
    assert '<svg class="reliability"' not in response.content.decode()


def test_the_calibration_page_runs_a_fixed_number_of_queries(
    page_client, manager, account, django_assert_max_num_queries
):
    client = page_client(manager)
    decided(account, 0.5, 1.0)
    calibration_recompute()
    with django_assert_max_num_queries(7):
        client.get(CALIBRATION)
    for n in range(30):
        decided(account, n / 30, n % 2, code=["email_sent", "escalation"][n % 2])
    calibration_recompute()
    with django_assert_max_num_queries(7):
        client.get(CALIBRATION)


def test_outcomes_and_calibration_are_one_section_of_the_navigation(
    page_client, manager, rep, account
):
    outcome = OutcomeFactory(account=account)

    def current(path: str) -> list[str]:
        response = page_client(manager).get(path)
        assert response.status_code == 200
        return [entry["label"] for entry in response.context["nav"] if entry["current"]]

    assert current(LIST) == current(f"{LIST}{outcome.pk}/") == current(CALIBRATION) == ["Outcomes"]
    html = page_client(manager).get(CALIBRATION).content.decode()
    assert f'href="{CALIBRATION}" class="active" aria-current="page">Calibration' in html
    assert f'href="{LIST}" class="" >All outcomes' in html
    # a rep reads outcomes but not calibration: no link to a page that would refuse them
    assert f'href="{CALIBRATION}"' not in page_client(rep).get(LIST).content.decode()


def test_the_navigation_is_built_only_for_a_page_that_shows_it(page_client, manager, account):
    from django.utils.functional import empty

    outcome = OutcomeFactory(account=account)
    client = page_client(manager)
    page = client.get(LIST)
    assert [entry["label"] for entry in page.context["nav"] if entry["current"]] == ["Outcomes"]
    partial = client.post(
        f"/feedback/outcomes/{outcome.pk}/rate/", {"rating": 1}, HTTP_HX_REQUEST="true"
    )
    assert partial.status_code == 200
    # An HTMX partial: rendered without the page's context, the navigation never built.
    assert "nav" not in partial.context
    assert page.context["nav"]._wrapped is not empty
