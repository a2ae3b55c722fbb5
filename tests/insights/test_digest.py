from __future__ import annotations

from datetime import timedelta

from django.core import mail
from django.utils import timezone

from apps.insights.models import DigestDelivery
from apps.insights.services import digest_send
from apps.tenancy.periodic import get_job
from tests.factories.crm import AccountFactory
from tests.factories.insights import InsightFactory
from tests.factories.users import UserFactory


def test_digest_emails_each_manager_the_last_day_of_insights_grouped_by_account(manager, rep, org):
    second_manager = UserFactory(username="mo", role="manager", email="mo@example.com")
    cedar, juniper = AccountFactory(name="Cedar Health"), AccountFactory(name="Juniper Retail")
    InsightFactory(account=cedar, title="Cedar is unhappy", severity="critical")
    InsightFactory(account=cedar, title="Cedar wants pricing", pattern_type="buying_signal")
    InsightFactory(account=juniper, title="Juniper went quiet")
    InsightFactory(
        account=juniper,
        title="Last week",
        pattern_type="buying_signal",
        detected_at=timezone.now() - timedelta(hours=30),
    )

    sent = digest_send()

    assert sent == 2
    assert sorted(message.to[0] for message in mail.outbox) == [manager.email, second_manager.email]
    message = mail.outbox[0]
    assert message.subject == "Insights digest: 3 new in the last 24 h (1 critical)"
    text = message.body
    assert (
        text.index("== Cedar Health ==")
        < text.index("Cedar is unhappy")
        < text.index("== Juniper Retail ==")
    )
    assert "Last week" not in text
    assert f"http://acme.localhost/accounts/{cedar.pk}/" in text
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert "Cedar wants pricing" in html and "Juniper went quiet" in html


def test_running_the_digest_again_the_same_day_sends_nothing_twice(manager, org):
    InsightFactory()

    assert digest_send() == 1
    assert digest_send() == 0
    assert len(mail.outbox) == 1
    assert DigestDelivery.objects.get().user == manager


def test_no_digest_when_nothing_was_detected(manager, org):
    assert digest_send() == 0
    assert mail.outbox == []


def test_reps_and_executives_get_no_digest(manager, rep, executive, org):
    InsightFactory()

    digest_send()

    assert [message.to for message in mail.outbox] == [[manager.email]]


def test_the_daily_digest_is_a_registered_periodic_job(manager, org):
    InsightFactory()

    assert get_job("daily_digest").every == timedelta(hours=24)
    assert get_job("daily_digest").func() == "1 digests sent"
    assert get_job("detect_patterns").every == timedelta(hours=1)
