from __future__ import annotations

import json

import pytest
from django.urls import reverse

from apps.insights.models import AlertFeedback, Insight
from apps.insights.services import insight_dismiss
from tests.factories.crm import AccountFactory
from tests.factories.insights import AlertFeedbackFactory, InsightFactory

HTMX = {"HTTP_HX_REQUEST": "true"}
INBOX = "/insights/"


def triggers(response) -> dict:
    return json.loads(response.headers.get("HX-Trigger", "{}"))


@pytest.fixture
def insight(account):
    return InsightFactory(account=account, title="Cedar is unhappy", severity="critical")


# --- inbox ------------------------------------------------------------------------------


def test_manager_sees_pending_insights_in_the_inbox(page_client, manager, insight):
    InsightFactory(title="Old news", status="acted", resolved_at=insight.detected_at)

    response = page_client(manager).get(INBOX)

    assert response.status_code == 200
    assert b"Cedar is unhappy" in response.content
    assert b"Old news" not in response.content
    assert b"Dismiss" in response.content


def test_inbox_filters_by_type_severity_status_and_account(page_client, manager, insight):
    other = InsightFactory(pattern_type="buying_signal", severity="low", title="Pricing asked")
    client = page_client(manager)

    by_type = client.get(INBOX, {"type": "buying_signal"})
    by_severity = client.get(INBOX, {"severity": "critical"})
    by_account = client.get(INBOX, {"account": other.account_id})
    closed = client.get(INBOX, {"status": "dismissed"})

    assert b"Pricing asked" in by_type.content and b"Cedar is unhappy" not in by_type.content
    assert (
        b"Cedar is unhappy" in by_severity.content and b"Pricing asked" not in by_severity.content
    )
    assert b"Pricing asked" in by_account.content and b"Cedar is unhappy" not in by_account.content
    assert b"No insights match" in closed.content


def test_htmx_filtering_returns_only_the_list(page_client, manager, insight):
    response = page_client(manager).get(
        INBOX, {"severity": "critical"}, HTTP_HX_TARGET="insight-list", **HTMX
    )

    assert response.status_code == 200
    assert b"<html" not in response.content
    assert b'id="insight-list"' in response.content
    assert b"Cedar is unhappy" in response.content


def test_an_unknown_filter_value_is_a_400_with_a_message(page_client, manager, insight):
    response = page_client(manager).get(INBOX, {"severity": "apocalyptic", "account": "abc"})

    assert response.status_code == 400
    assert b"Those filters are not valid" in response.content
    assert b"Cedar is unhappy" not in response.content


def test_rep_sees_only_insights_on_their_accounts(page_client, rep, insight):
    InsightFactory(account=AccountFactory(name="Not Rory's"), title="Someone else's")

    response = page_client(rep).get(INBOX)

    assert b"Cedar is unhappy" in response.content
    assert b"Someone else&#x27;s" not in response.content
    assert b"Act</button>" not in response.content


def test_nav_count_is_the_number_of_pending_insights_the_user_can_see(
    page_client, rep, manager, insight
):
    InsightFactory()

    assert page_client(manager).get(INBOX, {"count": 1}).content == b"2"
    assert page_client(rep).get(INBOX, {"count": 1}).content == b"1"


def test_nav_count_is_empty_when_nothing_is_pending(page_client, manager, org):
    response = page_client(manager).get(INBOX, {"count": 1})

    assert response.status_code == 200
    assert response.content == b""


def test_inbox_needs_a_login(page_client, org):
    response = page_client().get(INBOX)

    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_inbox_accepts_only_get(page_client, manager, org):
    assert page_client(manager).post(INBOX).status_code == 405


def test_inbox_of_another_org_does_not_show_our_insights(other_manager_client, insight):
    response = other_manager_client.get(INBOX)

    assert response.status_code == 200
    assert b"Cedar is unhappy" not in response.content


@pytest.mark.parametrize("rows", [2, 40])
def test_inbox_runs_a_fixed_number_of_queries(
    page_client, manager, org, rows, django_assert_max_num_queries
):
    for index in range(rows):
        insight = InsightFactory()
        if index % 2:
            AlertFeedbackFactory(insight=insight, user=manager)
    client = page_client(manager)
    client.get(INBOX)  # warm the session

    with django_assert_max_num_queries(10):
        response = client.get(INBOX)
    assert response.status_code == 200


# --- act, dismiss, undo -----------------------------------------------------------------


def test_acting_by_htmx_removes_the_row_updates_counts_and_offers_undo(
    page_client, manager, insight
):
    response = page_client(manager).post(reverse("insights:act", args=[insight.pk]), **HTMX)

    assert response.status_code == 200
    assert response.content == b""
    events = triggers(response)
    assert "insights-changed" in events
    assert events["toast"]["undo_url"] == reverse("insights:reopen", args=[insight.pk])
    insight.refresh_from_db()
    assert insight.status == "acted"


def test_acting_without_htmx_redirects_back_to_the_inbox(page_client, manager, insight):
    response = page_client(manager).post(
        reverse("insights:act", args=[insight.pk]), {"next": "/insights/?severity=critical"}
    )

    assert response.status_code == 302
    assert response["Location"] == "/insights/?severity=critical"
    assert Insight.objects.get(pk=insight.pk).status == "acted"


def test_dismissing_by_htmx_keeps_the_reason(page_client, manager, insight):
    response = page_client(manager).post(
        reverse("insights:dismiss", args=[insight.pk]), {"reason": "already_handled"}, **HTMX
    )

    assert response.status_code == 200
    insight.refresh_from_db()
    assert (insight.status, insight.dismiss_reason) == ("dismissed", "already_handled")


def test_dismissing_without_a_reason_is_a_400_and_changes_nothing(page_client, manager, insight):
    client = page_client(manager)
    url = reverse("insights:dismiss", args=[insight.pk])

    by_htmx = client.post(url, {"reason": ""}, **HTMX)
    full_page = client.post(url, {"reason": "because"})

    assert by_htmx.status_code == 400
    assert full_page.status_code == 400
    assert b"Choose a reason" in full_page.content
    assert Insight.objects.get(pk=insight.pk).status == "pending"


def test_acting_on_a_dismissed_insight_is_a_409(page_client, manager, insight):
    insight_dismiss(insight=insight, user=manager, reason="not_relevant")
    client = page_client(manager)
    url = reverse("insights:act", args=[insight.pk])

    by_htmx = client.post(url, **HTMX)
    full_page = client.post(url)

    assert by_htmx.status_code == 409
    assert "insight-list-refresh" in triggers(by_htmx)
    assert full_page.status_code == 409
    assert b"already dismissed" in full_page.content
    assert Insight.objects.get(pk=insight.pk).status == "dismissed"


def test_rep_and_executive_cannot_act_or_dismiss(page_client, rep, executive, insight):
    for user in (rep, executive):
        client = page_client(user)
        assert client.post(reverse("insights:act", args=[insight.pk])).status_code == 403
        assert (
            client.post(
                reverse("insights:dismiss", args=[insight.pk]), {"reason": "other"}
            ).status_code
            == 403
        )
    assert Insight.objects.get(pk=insight.pk).status == "pending"


def test_act_accepts_only_post(page_client, manager, insight):
    assert page_client(manager).get(reverse("insights:act", args=[insight.pk])).status_code == 405


def test_an_insight_of_another_org_is_a_404(other_manager_client, insight, in_org, org):
    client = other_manager_client

    assert client.post(reverse("insights:act", args=[insight.pk])).status_code == 404
    assert client.get(reverse("insights:detail", args=[insight.pk])).status_code == 404
    with in_org(org):
        assert Insight.objects.get(pk=insight.pk).status == "pending"


def test_undo_by_htmx_brings_the_insight_back(page_client, manager, insight):
    client = page_client(manager)
    client.post(reverse("insights:dismiss", args=[insight.pk]), {"reason": "other"}, **HTMX)

    response = client.post(reverse("insights:reopen", args=[insight.pk]), **HTMX)

    assert response.status_code == 200
    assert "insight-list-refresh" in triggers(response)
    assert Insight.objects.get(pk=insight.pk).status == "pending"


def test_undo_without_htmx_redirects_to_the_insight(page_client, manager, insight):
    client = page_client(manager)
    client.post(reverse("insights:act", args=[insight.pk]))

    response = client.post(reverse("insights:reopen", args=[insight.pk]))

    assert response.status_code == 302
    assert Insight.objects.get(pk=insight.pk).status == "pending"


def test_undo_of_an_open_insight_is_a_409(page_client, manager, insight):
    assert (
        page_client(manager).post(reverse("insights:reopen", args=[insight.pk])).status_code == 409
    )


def test_bulk_dismiss_by_htmx_and_without(page_client, manager, org):
    first, second, third = InsightFactory.create_batch(3)
    client = page_client(manager)
    url = reverse("insights:bulk_dismiss")

    by_htmx = client.post(url, {"ids": [first.pk, second.pk], "reason": "not_relevant"}, **HTMX)
    full_page = client.post(url, {"ids": [third.pk], "reason": "other"})

    assert by_htmx.status_code == 200
    assert "insight-list-refresh" in triggers(by_htmx)
    assert full_page.status_code == 302
    assert Insight.objects.filter(status="dismissed").count() == 3


def test_bulk_dismiss_without_a_selection_or_with_a_closed_one_is_a_400(page_client, manager, org):
    closed = InsightFactory()
    insight_dismiss(insight=closed, user=manager, reason="other")
    open_one = InsightFactory()
    client = page_client(manager)
    url = reverse("insights:bulk_dismiss")

    nothing = client.post(url, {"reason": "other"})
    stale = client.post(url, {"ids": [open_one.pk, closed.pk], "reason": "other"}, **HTMX)

    assert nothing.status_code == 400
    assert b"Select at least one insight" in nothing.content
    assert stale.status_code == 400
    assert Insight.objects.get(pk=open_one.pk).status == "pending"


def test_bulk_dismiss_cannot_reach_another_orgs_insight(other_manager_client, insight, in_org, org):
    response = other_manager_client.post(
        reverse("insights:bulk_dismiss"), {"ids": [insight.pk], "reason": "other"}
    )

    assert response.status_code == 400
    with in_org(org):
        assert Insight.objects.get(pk=insight.pk).status == "pending"


# --- detail and feedback ----------------------------------------------------------------


def test_detail_shows_the_evidence_and_the_decision_forms(page_client, manager, insight):
    response = page_client(manager).get(reverse("insights:detail", args=[insight.pk]))

    assert response.status_code == 200
    assert b"Streak length" in response.content
    assert b"Mark as acted on" in response.content


def test_detail_as_an_htmx_row_fragment(page_client, manager, insight):
    response = page_client(manager).get(
        reverse("insights:detail", args=[insight.pk]), {"fragment": "row"}, **HTMX
    )

    assert response.content.lstrip().startswith(b"<tr")


def test_rep_cannot_open_an_insight_on_someone_elses_account(page_client, rep, org):
    other = InsightFactory(account=AccountFactory())

    assert page_client(rep).get(reverse("insights:detail", args=[other.pk])).status_code == 404


def test_feedback_by_htmx_returns_the_pressed_buttons(page_client, rep, insight):
    response = page_client(rep).post(
        reverse("insights:feedback", args=[insight.pk]),
        {"useful": "no", "comment": "noisy"},
        **HTMX,
    )

    assert response.status_code == 200
    assert b'class="neg" title="Not useful" aria-pressed="true"' in response.content
    feedback = AlertFeedback.objects.get()
    assert (feedback.user, feedback.useful, feedback.comment) == (rep, False, "noisy")


def test_feedback_without_htmx_redirects_to_the_insight(page_client, manager, insight):
    response = page_client(manager).post(
        reverse("insights:feedback", args=[insight.pk]), {"useful": "yes"}
    )

    assert response.status_code == 302
    assert AlertFeedback.objects.get().useful is True


def test_feedback_with_a_bad_value_is_a_400_and_stores_nothing(page_client, manager, insight):
    client = page_client(manager)
    url = reverse("insights:feedback", args=[insight.pk])

    assert client.post(url, {"useful": "maybe"}, **HTMX).status_code == 400
    assert client.post(url, {"useful": "yes", "comment": "x" * 2001}).status_code == 400
    assert not AlertFeedback.objects.exists()


def test_executive_cannot_give_alert_feedback(page_client, executive, insight):
    response = page_client(executive).post(
        reverse("insights:feedback", args=[insight.pk]), {"useful": "yes"}
    )

    assert response.status_code == 403


def test_feedback_accepts_only_post(page_client, manager, insight):
    assert (
        page_client(manager).get(reverse("insights:feedback", args=[insight.pk])).status_code == 405
    )


# --- usefulness report ------------------------------------------------------------------


def test_report_shows_usefulness_per_pattern_type(page_client, manager, rep, org):
    risk = InsightFactory(pattern_type="risk_indicator")
    AlertFeedbackFactory(insight=risk, user=manager, useful=True)
    AlertFeedbackFactory(insight=risk, user=rep, useful=False, comment="Was a holiday")
    buying = InsightFactory(pattern_type="buying_signal")
    AlertFeedbackFactory(insight=buying, user=manager, useful=True)

    response = page_client(manager).get(reverse("insights:report"))

    assert response.status_code == 200
    rows = {row.key: row for row in response.context["rows"]}
    assert (rows["risk_indicator"].useful, rows["risk_indicator"].not_useful) == (1, 1)
    assert rows["risk_indicator"].useful_rate == 0.5
    assert rows["buying_signal"].useful_rate == 1.0
    assert rows["engagement_change"].useful_rate is None
    assert b"Was a holiday" in response.content


def test_report_with_an_unknown_period_is_a_400(page_client, manager, org):
    assert (
        page_client(manager).get(reverse("insights:report"), {"period": "forever"}).status_code
        == 400
    )


def test_rep_cannot_open_the_report(page_client, rep):
    assert page_client(rep).get(reverse("insights:report")).status_code == 403


def test_report_accepts_only_get(page_client, manager, org):
    assert page_client(manager).post(reverse("insights:report")).status_code == 405


def test_report_of_another_org_counts_only_its_own_insights(other_manager_client, insight):
    response = other_manager_client.get(reverse("insights:report"))

    assert sum(row.total for row in response.context["rows"]) == 0


def test_inbox_lists_the_most_severe_first(page_client, manager, org):
    InsightFactory(title="A low one", severity="low")
    InsightFactory(title="A critical one", severity="critical")
    InsightFactory(title="A medium one", severity="medium")

    response = page_client(manager).get(INBOX)

    titles = [insight.title for insight in response.context["insights"]]
    assert titles == ["A critical one", "A medium one", "A low one"]


def test_severity_counts_refresh_by_htmx(page_client, manager, insight):
    response = page_client(manager).get(INBOX, HTTP_HX_TARGET="severity-stats", **HTMX)

    assert response.status_code == 200
    assert response.content.lstrip().startswith(b'<div class="grid grid-4 severity-stats"')
    assert b'Critical</span><span class="value">1</span>' in response.content


def test_the_live_stream_answers_204_under_a_wsgi_server_instead_of_holding_a_thread(
    page_client, manager
):
    # EventSource stops reconnecting on 204; under uvicorn the stream is live (test_stream).
    assert page_client(manager).get("/insights/stream/").status_code == 204
