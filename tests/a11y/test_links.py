"""Every object links to its neighbours, and no role is shown a link it cannot follow."""

import pytest
from django.urls import reverse

from apps.approvals.models import ProposedAction
from tests.factories.crm import AccountFactory, DealFactory
from tests.factories.outcomes import OutcomeFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def outcome(org, rep):
    account = AccountFactory(owner=rep, name="Cedar Health")
    deal = DealFactory(account=account, name="Cedar platform")
    return OutcomeFactory(account=account, deal=deal)


def test_outcome_links_to_its_account_deal_and_feedback(outcome, page_client, manager):
    html = page_client(manager).get(reverse("outcomes:detail", args=[outcome.pk])).content.decode()
    account_url = reverse("insights:account", args=[outcome.account_id])
    assert f'href="{account_url}"' in html
    assert f'href="{account_url}#deals"' in html
    assert f'href="{reverse("feedback:outcome", args=[outcome.pk])}"' in html


def test_feedback_page_links_back_to_the_outcome_and_the_account(outcome, page_client, rep):
    html = page_client(rep).get(reverse("feedback:outcome", args=[outcome.pk])).content.decode()
    assert f'href="{reverse("outcomes:detail", args=[outcome.pk])}"' in html
    assert f'href="{reverse("insights:account", args=[outcome.account_id])}"' in html


def test_account_page_outcome_rows_are_links(outcome, page_client, manager):
    url = reverse("insights:account", args=[outcome.account_id])
    html = page_client(manager).get(url).content.decode()
    assert f'href="{reverse("outcomes:detail", args=[outcome.pk])}"' in html
    assert 'id="deals"' in html


def test_executive_sees_no_feedback_link_it_could_not_follow(outcome, page_client, executive):
    client = page_client(executive)
    html = client.get(reverse("outcomes:detail", args=[outcome.pk])).content.decode()
    feedback_url = reverse("feedback:outcome", args=[outcome.pk])
    assert feedback_url not in html
    assert client.get(feedback_url).status_code == 403  # the link would have been a dead end


def test_executive_team_dashboard_offers_no_queue_link(org, page_client, executive, manager):
    html = page_client(executive).get(reverse("dashboards:manager")).content.decode()
    assert "Open the queue" not in html
    assert page_client(executive).get(reverse("approvals:queue")).status_code == 403
    assert (
        "Open the queue" in page_client(manager).get(reverse("dashboards:manager")).content.decode()
    )


def test_approval_detail_links_to_account_and_outcome(org, page_client, manager, agent_key):
    from apps.approvals.services import action_decide, action_propose, action_record_result

    account = AccountFactory(name="Bluefin Logistics")
    action, _ = action_propose(
        external_id="links-1",
        action_type="email_sent",
        account=account,
        proposed_by="agent:test",
        amount=None,
        confidence=0.7,
    )
    if action.status == "pending":
        action_decide(action_id=action.pk, user=manager, decision="approve")
    action_record_result(action_id=action.pk, reported_by="agent:test", success=True)
    action = ProposedAction.objects.get(pk=action.pk)
    assert action.outcome_id is not None

    html = page_client(manager).get(reverse("approvals:detail", args=[action.pk])).content.decode()
    assert f'href="{reverse("insights:account", args=[account.pk])}"' in html
    assert f'href="{reverse("outcomes:detail", args=[action.outcome_id])}"' in html
    outcome_html = page_client(manager).get(reverse("outcomes:detail", args=[action.outcome_id]))
    assert (
        f'href="{reverse("approvals:detail", args=[action.pk])}"' in outcome_html.content.decode()
    )


def test_alert_usefulness_page_has_the_same_name_in_its_tab(org, page_client, manager):
    html = page_client(manager).get(reverse("insights:report")).content.decode()
    assert "<title>Alert usefulness" in html


def test_a_filtered_inbox_with_no_match_does_not_claim_inbox_zero(org, page_client, manager):
    from tests.factories.insights import InsightFactory

    InsightFactory(severity="high", pattern_type="risk_indicator")
    client = page_client(manager)
    html = client.get(reverse("insights:inbox") + "?type=buying_signal").content.decode()
    assert "Inbox zero" not in html
    assert "No insights match these filters" in html
    # The severity cards count what the type filter selects, not the whole inbox.
    assert '<span class="label">High</span><span class="value">0</span>' in html
    unfiltered = client.get(reverse("insights:inbox")).content.decode()
    assert '<span class="label">High</span><span class="value">1</span>' in unfiltered


def test_insight_evidence_reads_in_plain_words(org, page_client, manager):
    from tests.factories.insights import InsightFactory

    insight = InsightFactory(
        signal="deal_stalled",
        evidence={"deal_id": 19, "median_days": 9.0, "amount": "120000.00", "demo": "x"},
    )
    html = page_client(manager).get(reverse("insights:detail", args=[insight.pk])).content.decode()
    assert "Deal id" not in html and "Demo key" not in html
    assert "Typical days in this stage (median)" in html and "<dd>9</dd>" in html
    assert "$120,000" in html


def test_feedback_summary_period_menu_shows_the_period_of_the_figures(org, page_client, manager):
    html = page_client(manager).get(reverse("feedback:summary")).content.decode()
    assert '<option value="30" selected>Last 30 days</option>' in html
