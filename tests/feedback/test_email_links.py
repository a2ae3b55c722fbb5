"""One-click rating links in approval and digest emails: signed per recipient, object and
organisation; opening one never rates, confirming rates as the recipient (source email)."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail

from apps.approvals.models import ProposedAction
from apps.approvals.notifications import approvers_notify
from apps.approvals.services import action_propose
from apps.feedback import email_links
from apps.feedback.models import FeedbackEntry
from apps.insights.models import AlertFeedback
from apps.insights.services import digest_send
from apps.tenancy import signed_links
from tests.factories.crm import AccountFactory
from tests.factories.insights import InsightFactory
from tests.factories.outcomes import OutcomeFactory
from tests.factories.users import UserFactory

HOST = "acme.localhost"
RATE = re.compile(
    r"(?m)^  ([^:\n]+): http://acme\.localhost(/feedback/rate/[^\s?]+/)\?rating=(-?\d)$"
)


@pytest.fixture
def action(org):
    account = AccountFactory(external_id="acc-1", name="Acme Robotics")
    proposed, _ = action_propose(
        external_id="p-1",
        action_type="email_sent",
        account=account,
        proposed_by="agent:test",
        payload={"subject": "Follow-up", "to": "dana@example.com"},
        rationale="They opened the last email three times.",
        confidence=0.8,
        amount=Decimal("75000"),  # held for approval
    )
    assert proposed.status == "pending"
    return proposed


def _carried_out(action: ProposedAction):
    """The action was executed and the agent recorded its outcome."""
    outcome = OutcomeFactory(account=action.account, output_text="Hi Dana, the pricing.")
    ProposedAction.objects.filter(pk=action.pk).update(outcome=outcome)
    return outcome


def _rating_links(address: str) -> dict[str, str]:
    (message,) = [m for m in mail.outbox if m.to == [address]]
    links = {rating: path + f"?rating={rating}" for _, path, rating in RATE.findall(message.body)}
    html = message.alternatives[0][0]
    assert all(link in html for link in links.values())
    return links


def test_the_approval_email_carries_plus_zero_minus_links_per_action(manager, admin_user, action):
    approvers_notify()

    maria, ada = _rating_links("maria@example.com"), _rating_links("ada@example.com")
    assert set(maria) == {"1", "0", "-1"}
    assert maria["1"] != ada["1"]  # bound to the recipient
    assert "rate the result" in mail.outbox[0].body


def test_opening_a_link_never_rates(client, manager, action):
    _carried_out(action)
    approvers_notify()
    url = _rating_links("maria@example.com")["-1"]

    for _ in range(3):  # a mail scanner, then the manager
        response = client.get(url, HTTP_HOST=HOST)
        assert response.status_code == 200
    page = response.content.decode()
    assert 'value="-1" checked' in page and "Nothing is saved until you submit" in page
    assert "Hi Dana, the pricing." in page
    assert response["Referrer-Policy"] == "same-origin"
    assert not FeedbackEntry.objects.exists()


def test_submitting_rates_as_the_recipient_from_email_and_again_updates(client, manager, action):
    outcome = _carried_out(action)
    approvers_notify()
    url = _rating_links("maria@example.com")["1"]

    first = client.post(url, {"rating": "1"}, HTTP_HOST=HOST)
    second = client.post(url, {"rating": "-1"}, HTTP_HOST=HOST)

    assert first.status_code == 200 and "Your rating is saved" in first.content.decode()
    assert second.status_code == 200 and "Your rating is updated" in second.content.decode()
    entry = FeedbackEntry.objects.get()
    assert (entry.user, entry.outcome, entry.kind) == (manager, outcome, "inline")
    assert (entry.rating, entry.feedback_source) == (-1, "email")


def test_before_the_action_is_carried_out_there_is_nothing_to_rate(client, manager, action):
    approvers_notify()
    url = _rating_links("maria@example.com")["1"]

    assert client.get(url, HTTP_HOST=HOST).status_code == 409
    response = client.post(url, {"rating": "1"}, HTTP_HOST=HOST)
    assert response.status_code == 409 and "Nothing to rate yet" in response.content.decode()
    assert not FeedbackEntry.objects.exists()


def test_a_bad_rating_is_a_400_and_saves_nothing(client, manager, action):
    _carried_out(action)
    approvers_notify()
    url = _rating_links("maria@example.com")["1"]

    response = client.post(url, {"rating": "7"}, HTTP_HOST=HOST)

    assert response.status_code == 400 and "Choose one of the ratings." in response.content.decode()
    assert not FeedbackEntry.objects.exists()


def test_tampered_and_expired_links_are_clear_4xx(client, manager, action, monkeypatch):
    _carried_out(action)
    approvers_notify()
    url = _rating_links("maria@example.com")["1"]
    path = url.split("?")[0]

    tampered = client.post(path[:-4] + "xx/", {"rating": "1"}, HTTP_HOST=HOST)
    assert tampered.status_code == 404 and "not valid" in tampered.content.decode()
    assert client.get("/feedback/rate/abc/", HTTP_HOST=HOST).status_code == 404

    token = path.rsplit("/", 2)[1]
    assert email_links.read_rating_token(token) == ("action", action.pk, manager.pk)
    monkeypatch.setattr(signed_links, "LINK_MAX_AGE", timedelta(seconds=-1))  # 31 days later
    expired = client.post(url, {"rating": "1"}, HTTP_HOST=HOST)
    assert expired.status_code == 410 and "expired" in expired.content.decode()
    assert not FeedbackEntry.objects.exists()


def test_a_link_is_bound_to_its_recipient(page_client, manager, admin_user, action):
    _carried_out(action)
    approvers_notify()
    url = _rating_links("maria@example.com")["1"]

    response = page_client(admin_user).post(url, {"rating": "1"})

    assert response.status_code == 403
    assert not FeedbackEntry.objects.exists()


def test_a_recipient_who_may_no_longer_rate_gets_403(client, manager, action):
    _carried_out(action)
    approvers_notify()
    url = _rating_links("maria@example.com")["1"]
    type(manager).objects.filter(pk=manager.pk).update(is_active=False)

    assert client.post(url, {"rating": "1"}, HTTP_HOST=HOST).status_code == 403
    assert not FeedbackEntry.objects.exists()


def test_a_link_from_one_organisation_never_works_in_another(
    client, org, other_org, in_org, manager, action
):
    _carried_out(action)
    approvers_notify()
    url = _rating_links("maria@example.com")["1"]
    with in_org(other_org):
        UserFactory(username="maria", role="manager")  # same username there

    response = client.post(url, {"rating": "1"}, HTTP_HOST="globex.localhost")

    assert response.status_code == 404
    with in_org(other_org):
        assert not FeedbackEntry.objects.exists()
    with in_org(org):
        assert not FeedbackEntry.objects.exists()


def test_the_page_runs_a_fixed_number_of_queries(
    client, manager, action, django_assert_max_num_queries
):
    _carried_out(action)
    approvers_notify()
    url = _rating_links("maria@example.com")["1"]

    with django_assert_max_num_queries(12):
        assert client.get(url, HTTP_HOST=HOST).status_code == 200


# --- the daily digest: useful / not useful per insight ------------------------------------

USEFUL = re.compile(
    r"Was it useful\? Useful: http://acme\.localhost(\S+) Not useful: http://acme\.localhost(\S+)"
)


@pytest.fixture
def digest(org, manager, rep):
    """Maria's digest with one insight on her rep's account."""
    insight = InsightFactory(account=AccountFactory(name="Cedar Health", owner=rep))
    assert digest_send() == 1
    (message,) = [m for m in mail.outbox if m.to == [manager.email]]
    ((useful, not_useful),) = USEFUL.findall(message.body)
    assert useful.endswith("?rating=yes") and useful in message.alternatives[0][0]
    return insight, useful, not_useful


def test_the_digest_carries_useful_links_and_get_never_records(client, manager, digest):
    insight, useful, not_useful = digest

    response = client.get(not_useful, HTTP_HOST=HOST)

    assert response.status_code == 200
    assert 'value="no" checked' in response.content.decode()
    assert insight.title in response.content.decode()
    assert not AlertFeedback.objects.exists()


def test_submitting_a_digest_link_records_usefulness_as_the_recipient(client, manager, digest):
    insight, useful, _ = digest

    first = client.post(useful, {"rating": "yes"}, HTTP_HOST=HOST)
    second = client.post(useful, {"rating": "no"}, HTTP_HOST=HOST)

    assert "Your rating is saved" in first.content.decode()
    assert "Your rating is updated" in second.content.decode()
    feedback = AlertFeedback.objects.get()
    assert (feedback.insight, feedback.user, feedback.useful) == (insight, manager, False)


def test_a_digest_link_fails_in_another_organisation(client, other_org, in_org, manager, digest):
    _, useful, _ = digest

    response = client.post(useful, {"rating": "yes"}, HTTP_HOST="globex.localhost")

    assert response.status_code == 404
    assert not AlertFeedback.objects.exists()
