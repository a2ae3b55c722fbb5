"""The three dashboard pages: numbers shown, roles, organisations, methods, bad input, HTMX."""

from __future__ import annotations

import pytest

from apps.dashboards.services import outcome_daily_refresh
from tests.conftest import OTHER_HOST
from tests.factories.crm import AccountFactory
from tests.factories.dashboards import decided_outcome

REP_URL, TEAM_URL, EXEC_URL = "/dashboards/me/", "/dashboards/team/", "/dashboards/executive/"


def _text(response) -> str:
    return response.content.decode()


def test_rep_sees_own_success_and_reply_rate(crafted, rep, page_client):
    response = page_client(rep).get(REP_URL)

    assert response.status_code == 200
    body = _text(response)
    assert "My dashboard" in body
    assert ">60%<" in body  # success rate: 3 of 5 decided
    assert ">67%<" in body  # reply rate: 2 of 3 emails
    assert "3 of 5 decided actions" in body
    assert "<svg" in body


def test_rep_dashboard_lists_outputs_awaiting_my_rating_with_the_rating_buttons(
    crafted, rep, page_client
):
    body = _text(page_client(rep).get(REP_URL))

    assert "Outputs awaiting my rating" in body
    assert body.count('class="rating-form"') == 5  # newest five of Rory's seven outputs
    assert "Beta" not in body.split('id="awaiting-rating"')[1].split("</section>")[0]


def test_rated_output_leaves_the_list_at_once(crafted, rep, page_client):
    client = page_client(rep)
    first = _text(client.get(REP_URL))
    outcome_id = first.split('data-outcome="')[1].split('"')[0]

    client.post(f"/feedback/outcomes/{outcome_id}/rate/", {"rating": "1"})
    after = _text(client.get(REP_URL))

    assert f'data-outcome="{outcome_id}"' not in after


def test_range_switch_by_htmx_returns_only_the_dashboard_body(crafted, rep, page_client):
    response = page_client(rep).get(REP_URL, {"period": "90d"}, HTTP_HX_REQUEST="true")

    body = _text(response)
    assert response.status_code == 200
    assert body.lstrip().startswith('<div id="dashboard-body"')
    assert "<html" not in body
    assert ">50%<" in body  # 90 days: 3 of 6 decided


def test_range_switch_without_htmx_renders_the_full_page(crafted, rep, page_client):
    response = page_client(rep).get(REP_URL, {"period": "365d"})

    assert response.status_code == 200
    assert "<html" in _text(response)
    assert 'aria-current="true">Last 12 months' in _text(response)


def test_unknown_period_is_a_400_with_a_message_and_the_default_range(crafted, rep, page_client):
    response = page_client(rep).get(REP_URL, {"period": "7d"})

    assert response.status_code == 400
    assert "Date range: Select a valid choice" in _text(response)
    assert ">60%<" in _text(response)


@pytest.mark.parametrize("url", [REP_URL, TEAM_URL, EXEC_URL])
def test_dashboards_answer_only_get(executive, page_client, url):
    assert page_client(executive).post(url).status_code == 405


def test_rep_cannot_open_the_executive_or_team_dashboard(rep, page_client):
    client = page_client(rep)

    assert client.get(EXEC_URL).status_code == 403
    assert client.get(TEAM_URL).status_code == 403


def test_rep_cannot_open_another_reps_dashboard(crafted, rep, other_rep, page_client):
    assert page_client(rep).get(REP_URL, {"rep": "sam"}).status_code == 403


def test_manager_opens_a_reps_dashboard_read_only(crafted, manager, page_client):
    body = _text(page_client(manager).get(REP_URL, {"rep": "sam"}))

    assert "Sam Seller's dashboard" in body
    assert ">100%<" in body
    assert "Outputs awaiting my rating" not in body


def test_unknown_rep_is_a_400_with_a_message(crafted, manager, page_client):
    response = page_client(manager).get(REP_URL, {"rep": "nobody"})

    assert response.status_code == 400
    assert "No rep with the username" in _text(response)


def test_anonymous_visitor_is_sent_to_log_in(page_client):
    response = page_client().get(TEAM_URL)

    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_manager_sees_outcomes_by_rep_and_clone(crafted, manager, page_client):
    response = page_client(manager).get(TEAM_URL)

    body = _text(response)
    assert response.status_code == 200
    assert "Rory Rep" in body and "Sam Seller" in body
    assert "Rory&#x27;s clone" in body
    assert "Calibration by action type" in body
    assert "Approval queue health" in body


def test_executive_sees_everything_read_only(crafted, executive, page_client):
    client = page_client(executive)

    executive_page = _text(client.get(EXEC_URL))
    assert client.get(TEAM_URL).status_code == 200
    assert client.get(REP_URL).status_code == 200
    assert "$80k" in executive_page  # pipeline influenced
    assert "$30k" in executive_page  # revenue influenced
    assert '<form method="post"' not in executive_page.split('id="dashboard-body"')[1]


def test_other_organisations_data_never_shows(
    crafted, other_org, in_org, other_org_manager, page_client
):
    with in_org(other_org):
        account = AccountFactory(name="Globex Secret Account")
        decided_outcome(account=account, code="email_sent", status="resolved")
        outcome_daily_refresh()

        client = page_client(other_org_manager, host=OTHER_HOST)
        body = _text(client.get(TEAM_URL))

    assert "Rory Rep" not in body
    assert 'Agent actions</span><span class="value">1<' in body.replace("\n", "")


def test_a_session_of_another_organisation_cannot_open_ours(
    crafted, other_org, in_org, other_org_manager, page_client
):
    with in_org(other_org):
        client = page_client(other_org_manager, host=OTHER_HOST)
    client.defaults["HTTP_HOST"] = "acme.localhost"

    response = client.get(TEAM_URL)

    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_empty_organisation_shows_what_to_do(executive, page_client):
    body = _text(page_client(executive).get(EXEC_URL))

    assert "No deals won in the last 30 days" in body
    assert "No agent actions in the last 30 days" in body
