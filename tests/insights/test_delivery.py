"""Insight delivery: immediate email to the account team's managers, per-person channel
per severity, the chat adapter, and the per-manager daily digest."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from apps.insights.delivery import chat_payload, chat_webhook_url
from apps.insights.models import AlertDelivery, AlertPreference, DigestDelivery
from apps.insights.selectors import alert_channels_for, live_severities_for
from apps.insights.services import (
    alert_preferences_save,
    digest_send,
    insight_alerts_deliver,
    insight_alerts_retry,
    insight_create,
)
from apps.tenancy.periodic import get_job
from tests.factories.crm import AccountFactory
from tests.factories.insights import InsightFactory
from tests.factories.users import UserFactory


@pytest.fixture
def teams(org, manager, rep):
    """Maria manages Rory (owns Cedar); Mo manages Sam (owns Juniper); Kim has no team."""
    mo = UserFactory(username="mo", role="manager")
    sam = UserFactory(username="sam", role="rep", manager=mo)
    kim = UserFactory(username="kim", role="manager")
    return {
        "mo": mo,
        "sam": sam,
        "kim": kim,
        "cedar": AccountFactory(name="Cedar Health", owner=rep, industry="health"),
        "juniper": AccountFactory(name="Juniper Retail", owner=sam, industry="retail"),
        "own": AccountFactory(name="Maria's own", owner=manager, industry="health"),
        "nobody": AccountFactory(name="Unassigned Co", owner=None, industry="retail"),
    }


def recipients() -> list[str]:
    return sorted(address for message in mail.outbox for address in message.to)


# --- immediate email --------------------------------------------------------------------


def test_a_critical_insight_is_emailed_at_once_to_the_managers_of_the_accounts_owner(
    teams, manager, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        insight, _ = insight_create(
            account=teams["cedar"],
            pattern_type="risk_indicator",
            signal="negative_sentiment_streak",
            title="Cedar is unhappy",
            confidence=0.9,
            severity="critical",
        )

    assert recipients() == [manager.email]
    message = mail.outbox[0]
    assert message.subject == "[Critical] Cedar Health: Cedar is unhappy"
    assert f"http://acme.localhost/insights/{insight.pk}/" in message.body
    assert "http://acme.localhost/insights/preferences/" in message.body
    assert AlertDelivery.objects.get().user == manager


def test_nothing_is_emailed_before_the_insight_is_committed(teams, manager):
    """Delivery waits for the commit, so a rolled-back detection never alerts anyone."""
    InsightFactory(account=teams["cedar"], severity="critical")

    assert mail.outbox == []


def test_high_and_lower_severities_wait_for_the_digest_unless_a_manager_asks(teams, manager):
    high = InsightFactory(account=teams["cedar"], severity="high")
    low = InsightFactory(account=teams["juniper"], severity="low", pattern_type="buying_signal")

    assert insight_alerts_deliver(insight_ids=[high.pk, low.pk]) == 0

    alert_preferences_save(user=teams["mo"], channels={"low": "email"})
    assert insight_alerts_deliver(insight_ids=[high.pk, low.pk]) == 1
    assert recipients() == [teams["mo"].email]


def test_a_manager_who_chose_digest_for_critical_gets_no_email(teams, manager):
    alert_preferences_save(user=manager, channels={"critical": "digest"})
    insight = InsightFactory(account=teams["cedar"], severity="critical")

    assert insight_alerts_deliver(insight_ids=[insight.pk]) == 0
    assert mail.outbox == []


def test_unassigned_accounts_reach_every_manager_and_a_cross_account_pattern_its_teams(
    teams, manager
):
    nobody = InsightFactory(account=teams["nobody"], severity="critical")
    cross = InsightFactory(
        account=None,
        industry="retail",
        pattern_type="cross_account_pattern",
        signal="engagement_down",
        severity="critical",
        evidence={"account_ids": [teams["juniper"].pk]},
    )

    insight_alerts_deliver(insight_ids=[nobody.pk])
    assert recipients() == sorted([manager.email, teams["mo"].email, teams["kim"].email])

    mail.outbox.clear()
    insight_alerts_deliver(insight_ids=[cross.pk])
    assert recipients() == [teams["mo"].email]


def test_alerts_are_sent_once_however_often_delivery_runs(teams, manager):
    insight = InsightFactory(account=teams["cedar"], severity="critical")

    assert insight_alerts_deliver(insight_ids=[insight.pk]) == 1
    assert insight_alerts_deliver(insight_ids=[insight.pk]) == 0
    assert insight_alerts_retry() == 0
    assert len(mail.outbox) == 1


def test_the_retry_job_sends_what_was_missed_and_skips_closed_insights(teams, manager):
    missed = InsightFactory(account=teams["cedar"], severity="critical")
    InsightFactory(
        account=teams["own"],
        severity="critical",
        status="dismissed",
        dismiss_reason="other",
        resolved_at=timezone.now(),
    )
    InsightFactory(
        account=teams["nobody"],
        severity="critical",
        detected_at=timezone.now() - timedelta(hours=5),
    )

    assert get_job("deliver_alerts").func() == "1 alerts sent"
    assert AlertDelivery.objects.get().insight == missed


def test_inactive_managers_and_managers_without_email_get_nothing(teams, manager):
    manager.email = ""
    manager.save()
    insight = InsightFactory(account=teams["cedar"], severity="critical")

    assert insight_alerts_deliver(insight_ids=[insight.pk]) == 0


def test_delivery_reads_only_this_organisations_people(teams, manager, other_org, in_org):
    with in_org(other_org):
        UserFactory(username="olga", role="manager")
    insight = InsightFactory(account=teams["nobody"], severity="critical")

    insight_alerts_deliver(insight_ids=[insight.pk])

    assert "olga@example.com" not in recipients()


# --- chat adapter -------------------------------------------------------------------------


def test_no_chat_message_without_a_webhook_set(teams, manager):
    insight = InsightFactory(account=teams["cedar"], severity="critical")

    assert chat_webhook_url() == ""
    insight_alerts_deliver(insight_ids=[insight.pk])
    assert not AlertDelivery.objects.filter(channel="chat").exists()


def test_a_critical_insight_is_posted_to_the_chat_webhook_once(teams, manager, chat):
    critical = InsightFactory(account=teams["cedar"], severity="critical", title="Churn risk")
    high = InsightFactory(account=teams["juniper"], severity="high", title="Stalled deal")

    insight_alerts_deliver(insight_ids=[critical.pk, high.pk])
    insight_alerts_deliver(insight_ids=[critical.pk, high.pk])  # a retry sends nothing more

    (post,) = chat.posts
    assert post["text"].startswith("*Critical* · Cedar Health: Churn risk")
    assert post["insight"]["id"] == critical.pk


def test_the_chat_message_names_severity_subject_title_and_link(teams):
    insight = InsightFactory(account=teams["cedar"], severity="critical", title="Churn risk")

    payload = chat_payload(insight, "https://acme.example")

    assert payload["text"] == (
        f"*Critical* · Cedar Health: Churn risk\nhttps://acme.example/insights/{insight.pk}/"
    )
    assert payload["insight"]["severity"] == "critical"


# --- preferences --------------------------------------------------------------------------


def test_defaults_are_email_for_critical_live_for_high_digest_for_the_rest(rep):
    assert alert_channels_for(rep) == {
        "low": "digest",
        "medium": "digest",
        "high": "live",
        "critical": "email",
    }
    assert live_severities_for(rep) == {"critical", "high"}


def test_saving_again_updates_and_bad_values_are_refused(rep):
    alert_preferences_save(user=rep, channels={"high": "none", "low": "live"})
    alert_preferences_save(user=rep, channels={"high": "email"})

    assert alert_channels_for(rep)["high"] == "email"
    assert live_severities_for(rep) == {"critical", "high", "low"}
    assert AlertPreference.objects.filter(user=rep).count() == 2
    with pytest.raises(Exception, match="Choose live"):
        alert_preferences_save(user=rep, channels={"high": "pigeon"})


def test_the_preferences_page_shows_and_saves_each_severity(page_client, rep):
    client = page_client(rep)

    page = client.get("/insights/preferences/")
    assert page.status_code == 200
    assert b'name="critical" value="email"' in page.content
    assert b"checked" in page.content

    saved = client.post(
        "/insights/preferences/",
        {"critical": "live", "high": "none", "medium": "digest", "low": "none"},
    )
    assert saved.status_code == 302
    assert alert_channels_for(rep) == {
        "low": "none",
        "medium": "digest",
        "high": "none",
        "critical": "live",
    }


def test_bad_input_on_the_page_is_a_form_error_and_changes_nothing(page_client, rep):
    response = page_client(rep).post(
        "/insights/preferences/",
        {"critical": "shout", "high": "none", "medium": "digest", "low": "none"},
    )

    assert response.status_code == 400
    assert b"errorlist" in response.content
    assert not AlertPreference.objects.exists()


def test_the_page_needs_a_login_and_refuses_other_methods(page_client, rep):
    assert page_client().get("/insights/preferences/").status_code == 302
    assert page_client(rep).delete("/insights/preferences/").status_code == 405


def test_another_organisations_person_cannot_see_or_change_these_preferences(
    org, rep, other_manager_client, in_org
):
    alert_preferences_save(user=rep, channels={"critical": "none"})

    response = other_manager_client.post(
        "/insights/preferences/",
        {"critical": "email", "high": "email", "medium": "email", "low": "email"},
    )

    assert response.status_code == 302  # their own settings, in their schema
    with in_org(org):
        assert alert_channels_for(rep)["critical"] == "none"
        assert AlertPreference.objects.filter(user=rep).count() == 1


@pytest.mark.parametrize("saved", [0, 4])
def test_the_preferences_page_runs_a_fixed_number_of_queries(
    page_client, rep, django_assert_max_num_queries, saved
):
    if saved:
        alert_preferences_save(
            user=rep, channels={"critical": "live", "high": "none", "medium": "none", "low": "none"}
        )
    client = page_client(rep)

    with django_assert_max_num_queries(8):
        assert client.get("/insights/preferences/").status_code == 200


# --- the digest, per manager ----------------------------------------------------------------


def test_each_manager_gets_the_insights_of_their_teams_accounts_only(teams, manager):
    InsightFactory(account=teams["cedar"], title="Cedar is unhappy")
    InsightFactory(account=teams["own"], title="Maria's own account")
    InsightFactory(account=teams["juniper"], title="Juniper went quiet")
    InsightFactory(account=teams["nobody"], title="Nobody's account")

    assert digest_send() == 3

    by_person = {message.to[0]: message.body for message in mail.outbox}
    maria, mo, kim = (
        by_person[manager.email],
        by_person[teams["mo"].email],
        by_person[teams["kim"].email],
    )
    assert "Cedar is unhappy" in maria and "Maria's own account" in maria
    assert "Juniper went quiet" not in maria
    assert "Juniper went quiet" in mo and "Cedar is unhappy" not in mo
    assert "Nobody's account" in maria and "Nobody's account" in mo and "Nobody's account" in kim
    assert "your team's accounts" in maria
    assert DigestDelivery.objects.get(user=manager).insight_count == 3


def test_a_severity_chosen_as_none_stays_out_of_the_digest(teams, manager):
    alert_preferences_save(user=manager, channels={"low": "none"})
    InsightFactory(account=teams["cedar"], title="Small thing", severity="low")
    InsightFactory(
        account=teams["cedar"], title="Big thing", severity="high", pattern_type="buying_signal"
    )

    digest_send()

    [body] = [m.body for m in mail.outbox if m.to == [manager.email]]
    assert "Big thing" in body and "Small thing" not in body


def test_a_manager_with_nothing_on_their_team_gets_no_digest_yet(teams, manager):
    InsightFactory(account=teams["juniper"])

    assert digest_send() == 1
    assert recipients() == [teams["mo"].email]
    assert not DigestDelivery.objects.filter(user=manager).exists()


@pytest.mark.parametrize("extra", [0, 40])
def test_the_digest_runs_a_fixed_number_of_queries(
    teams, manager, django_assert_max_num_queries, extra
):
    for number in range(extra):
        rep = UserFactory(username=f"rep{number}", role="rep", manager=teams["kim"])
        InsightFactory(account=AccountFactory(owner=rep))
    InsightFactory(account=teams["cedar"])

    with django_assert_max_num_queries(9):
        digest_send()
