"""Approvers are reached by email: batched, with signed single-use links; reminders,
escalation and delegation; the chat webhook hears of new requests.

Emails go to Django's test outbox (the real mail code path, locmem backend). Links are
opened with a test client exactly as a browser would, with and without a session.
"""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from apps.approvals.models import (
    ActionEvent,
    ApprovalDelegation,
    ApprovalNotice,
    ApprovalSettings,
    ProposedAction,
)
from apps.approvals.notifications import approvers_notify
from tests.factories.users import UserFactory

ENTRY = re.compile(
    r"Approve: http://acme\.localhost(\S+)\nReject:  http://acme\.localhost(\S+)\n"
    r"Details: http://acme\.localhost/approvals/(\d+)/"
)


def _entries(message) -> dict[int, tuple[str, str]]:
    """{action id: (approve path, reject path)} from an approval email."""
    return {int(pk): (approve, reject) for approve, reject, pk in ENTRY.findall(message.body)}


def _links(message) -> dict[str, list[str]]:
    approve = re.findall(r"Approve: http://acme\.localhost(/approvals/email/[^\s]+)", message.body)
    reject = re.findall(r"Reject:\s+http://acme\.localhost(/approvals/email/[^\s]+)", message.body)
    return {"approve": approve, "reject": reject}


def _to(address: str):
    return [message for message in mail.outbox if message.to == [address]]


@pytest.fixture
def two_pending(propose):
    return [
        propose(
            amount=Decimal("75000"),
            payload={"to": "dana@example.com", "subject": "Proposal", "body": "Line one\nLine two"},
        ),
        propose(amount=Decimal("90000"), action_type="linkedin_message", payload={"message": "Hi"}),
    ]


def test_each_approver_gets_one_email_listing_every_new_action_rendered(
    manager, rep, admin_user, two_pending
):
    result = approvers_notify()

    assert result.emails == 2  # maria (manager) and ada (admin); the rep is no approver
    (message,) = _to("maria@example.com")
    assert message.subject == "2 actions waiting for your approval"
    assert "Line one\nLine two" in message.body  # rendered, line breaks kept
    assert "LinkedIn message" in message.body
    assert len(_links(message)["approve"]) == 2 and len(_links(message)["reject"]) == 2
    html = message.alternatives[0][0]
    assert "Approve</a>" in html and "Line one" in html
    assert _to("rory@example.com") == []


def test_the_job_is_idempotent_and_batches_per_five_minutes(manager, two_pending, propose):
    approvers_notify()
    again = approvers_notify()
    assert (again.notices, again.emails) == (0, 0)

    propose(amount=Decimal("60000"))  # new, but maria was emailed less than 5 minutes ago
    assert approvers_notify().emails == 0
    later = approvers_notify(now=timezone.now() + timedelta(minutes=6))
    assert later.emails == 1
    assert _to("maria@example.com")[-1].subject == "1 action waiting for your approval"


def test_run_periodic_notify_approvers_sends_by_hand(manager, two_pending):
    call_command("run_periodic", "notify_approvers", "--org", "acme")

    assert len(_to("maria@example.com")) == 1


def test_opening_a_link_never_decides(client, manager, two_pending):
    approvers_notify()
    url = _links(_to("maria@example.com")[0])["approve"][0]

    for _ in range(3):  # a mail scanner following the link, then the manager
        response = client.get(url, HTTP_HOST="acme.localhost")
        assert response.status_code == 200
    assert "Nothing is decided until you confirm" in response.content.decode()
    assert ProposedAction.objects.filter(status="pending").count() == 2
    assert response["Referrer-Policy"] == "same-origin"


def test_confirming_decides_as_the_recipient_once(client, manager, two_pending):
    approvers_notify()
    url = _links(_to("maria@example.com")[0])["approve"][0]

    first = client.post(url, {"reason": ""}, HTTP_HOST="acme.localhost")
    second = client.post(url, {"reason": ""}, HTTP_HOST="acme.localhost")
    reopened = client.get(url, HTTP_HOST="acme.localhost")

    assert first.status_code == 200 and "Approved" in first.content.decode()
    action = ProposedAction.objects.get(decided_by=manager)
    assert action.status == "approved"
    assert ActionEvent.objects.get(action=action, kind="approved").via == "email"
    assert (
        second.status_code == 409 and "Already approved by Maria Manager" in second.content.decode()
    )
    assert reopened.status_code == 409


def test_reject_asks_for_the_reason(client, manager, two_pending):
    approvers_notify()
    url = _links(_to("maria@example.com")[0])["reject"][0]

    page = client.get(url, HTTP_HOST="acme.localhost")
    empty = client.post(url, {"reason": " "}, HTTP_HOST="acme.localhost")
    done = client.post(url, {"reason": "Too early"}, HTTP_HOST="acme.localhost")

    assert "Why do you reject it?" in page.content.decode()
    assert empty.status_code == 400 and "Say why you reject it" in empty.content.decode()
    assert done.status_code == 200
    assert (
        ProposedAction.objects.filter(status="rejected", decision_reason="Too early").count() == 1
    )


def test_a_link_decided_elsewhere_first_answers_409_naming_who(
    client, page_client, manager, admin_user, two_pending
):
    approvers_notify()
    first, second = two_pending
    approve_first, _ = _entries(_to("maria@example.com")[0])[first.pk]
    page_client(admin_user).post(
        f"/approvals/{first.pk}/decide/", {"decision": "reject", "reason": "No"}
    )

    response = client.post(approve_first, HTTP_HOST="acme.localhost")

    assert response.status_code == 409
    assert "Already rejected by Ada Admin" in response.content.decode()
    first.refresh_from_db()
    assert (first.status, first.decided_by) == ("rejected", admin_user)


def test_an_expired_action_makes_its_links_410(client, manager, two_pending):
    approvers_notify()
    url = _links(_to("maria@example.com")[0])["approve"][0]
    ProposedAction.objects.update(expires_at=timezone.now() - timedelta(minutes=1))

    assert client.get(url, HTTP_HOST="acme.localhost").status_code == 410
    assert client.post(url, HTTP_HOST="acme.localhost").status_code == 410
    assert ProposedAction.objects.filter(status="approved").count() == 0


def test_a_link_dies_with_its_action(client, manager, two_pending):
    approvers_notify()
    url = _links(_to("maria@example.com")[0])["approve"][0]
    ProposedAction.objects.all().delete()

    assert client.get(url, HTTP_HOST="acme.localhost").status_code == 410


def test_a_tampered_link_is_404(client, manager, two_pending):
    approvers_notify()
    url = _links(_to("maria@example.com")[0])["approve"][0]

    assert client.get(url[:-3] + "xx/", HTTP_HOST="acme.localhost").status_code == 404
    assert client.get("/approvals/email/abc/", HTTP_HOST="acme.localhost").status_code == 404


def test_a_link_is_bound_to_its_recipient(page_client, manager, admin_user, two_pending):
    approvers_notify()
    url = _links(_to("maria@example.com")[0])["approve"][0]

    response = page_client(admin_user).post(url)

    assert response.status_code == 403
    assert ProposedAction.objects.filter(status="pending").count() == 2


def test_a_recipient_who_lost_the_approver_role_cannot_use_the_link(client, manager, two_pending):
    approvers_notify()
    url = _links(_to("maria@example.com")[0])["approve"][0]
    type(manager).objects.filter(pk=manager.pk).update(role="rep")

    assert client.post(url, HTTP_HOST="acme.localhost").status_code == 403
    assert ProposedAction.objects.filter(status="pending").count() == 2


def test_a_link_from_one_organisation_never_works_in_another(
    client, org, other_org, in_org, manager, two_pending
):
    approvers_notify()
    path = _links(_to("maria@example.com")[0])["approve"][0]
    with in_org(other_org):
        UserFactory(username="maria", role="manager")  # same username there

    response = client.post(path, HTTP_HOST="globex.localhost")

    assert response.status_code == 404
    with in_org(org):
        assert ProposedAction.objects.filter(status="pending").count() == 2


# --- reminders, escalation, delegation --------------------------------------------------


def test_approvers_are_reminded_four_hours_before_expiry(manager, propose):
    action = propose(amount=Decimal("75000"))
    approvers_notify()
    soon = action.expires_at - timedelta(hours=4, minutes=1)
    assert approvers_notify(now=soon).emails == 0  # not yet due

    due = action.expires_at - timedelta(hours=3, minutes=59)
    assert approvers_notify(now=due).emails == 1
    assert _to("maria@example.com")[-1].subject.startswith("Reminder: 1 action expire")
    assert approvers_notify(now=due + timedelta(minutes=10)).emails == 0  # once


def test_two_hours_before_expiry_admins_and_the_reps_manager_are_told(
    manager, rep, admin_user, account, propose
):
    boss = UserFactory(username="bea", role="executive")  # the rep's manager, not an approver
    type(rep).objects.filter(pk=rep.pk).update(manager=boss)
    account.owner = rep
    account.save()
    action = propose(amount=Decimal("75000"))
    approvers_notify()
    due = action.expires_at - timedelta(hours=1, minutes=59)

    approvers_notify(now=due)

    escalations = [m for m in mail.outbox if m.subject.startswith("Escalation")]
    assert sorted(m.to[0] for m in escalations) == ["ada@example.com", "bea@example.com"]
    assert ApprovalNotice.objects.filter(kind="escalation").count() == 2


def test_a_decided_action_is_neither_reminded_nor_escalated(manager, admin_user, propose):
    action = propose(amount=Decimal("75000"))
    approvers_notify()
    ProposedAction.objects.filter(pk=action.pk).update(status="approved", decided_by=manager)

    approvers_notify(now=action.expires_at - timedelta(hours=1))

    assert not [m for m in mail.outbox if m.subject.startswith(("Reminder", "Escalation"))]


def test_a_delegate_is_notified_and_may_decide_during_the_date_range(client, manager, rep, propose):
    today = timezone.localdate()
    ApprovalDelegation.objects.create(
        user=manager, delegate=rep, starts_on=today, ends_on=today + timedelta(days=3)
    )
    propose(amount=Decimal("75000"))

    approvers_notify()

    (message,) = _to("rory@example.com")
    assert "on behalf of Maria Manager" in message.body
    url = _links(message)["approve"][0]
    assert client.post(url, HTTP_HOST="acme.localhost").status_code == 200
    assert ProposedAction.objects.get().decided_by == rep


def test_a_delegation_outside_its_dates_gives_nothing(client, manager, rep, propose):
    today = timezone.localdate()
    ApprovalDelegation.objects.create(
        user=manager,
        delegate=rep,
        starts_on=today - timedelta(days=9),
        ends_on=today - timedelta(days=1),
    )
    propose(amount=Decimal("75000"))

    approvers_notify()

    assert _to("rory@example.com") == []


def _delegate(manager, rep, *, days_ago: int = 0, days: int = 3):
    start = timezone.localdate() - timedelta(days=days_ago)
    return ApprovalDelegation.objects.create(
        user=manager, delegate=rep, starts_on=start, ends_on=start + timedelta(days=days)
    )


def test_a_delegate_may_decide_on_the_page_and_over_the_api_while_it_runs(
    page_client, api_client, manager, rep, rep_key, propose
):
    first, second = propose(amount=Decimal("75000")), propose(amount=Decimal("75000"))
    assert page_client(rep).get("/approvals/").status_code == 403
    _delegate(manager, rep)

    page = page_client(rep).post(f"/approvals/{first.pk}/decide/", {"decision": "approve"})
    api = api_client(rep_key).post(
        f"/api/v1/actions/{second.pk}/decision/", {"decision": "approve"}, format="json"
    )

    assert page.status_code == 302 and api.status_code == 200
    assert set(ProposedAction.objects.values_list("decided_by", flat=True)) == {rep.pk}


def test_an_ended_delegation_no_longer_lets_the_delegate_decide(
    api_client, manager, rep, rep_key, pending
):
    _delegate(manager, rep, days_ago=10, days=3)

    response = api_client(rep_key).post(
        f"/api/v1/actions/{pending.pk}/decision/", {"decision": "approve"}, format="json"
    )

    assert response.status_code == 403
    pending.refresh_from_db()
    assert pending.status == "pending"


def test_a_manager_sets_and_removes_a_delegate_on_the_page(page_client, manager, rep):
    client = page_client(manager)
    today = timezone.localdate()

    saved = client.post(
        "/approvals/delegation/",
        {
            "delegate": "rory",
            "starts_on": today.isoformat(),
            "ends_on": (today + timedelta(days=5)).isoformat(),
        },
        follow=True,
    )

    assert "will get your approvals" in saved.content.decode()
    delegation = ApprovalDelegation.objects.get()
    assert (delegation.user, delegation.delegate) == (manager, rep)
    client.post("/approvals/delegation/", {"remove": delegation.pk})
    assert not ApprovalDelegation.objects.exists()


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"delegate": "maria"}, "delegate"),  # oneself
        ({"delegate": "nobody"}, "delegate"),
        ({"delegate": "rory", "ends_on": "2000-01-01"}, "ends_on"),
        ({"delegate": "rory", "starts_on": "not a date"}, "starts_on"),
    ],
)
def test_a_bad_delegation_is_a_400_and_stores_nothing(page_client, manager, rep, form, field):
    today = timezone.localdate()
    data = {
        "starts_on": today.isoformat(),
        "ends_on": (today + timedelta(days=2)).isoformat(),
        **form,
    }

    response = page_client(manager).post("/approvals/delegation/", data)

    assert response.status_code == 400
    assert field in response.context["errors"]
    assert not ApprovalDelegation.objects.exists()


def test_a_delegate_from_another_organisation_cannot_be_named(
    page_client, org, other_org, in_org, manager
):
    with in_org(other_org):
        UserFactory(username="olaf", role="manager")
    today = timezone.localdate()

    response = page_client(manager).post(
        "/approvals/delegation/",
        {"delegate": "olaf", "starts_on": today.isoformat(), "ends_on": today.isoformat()},
    )

    assert response.status_code == 400
    assert not ApprovalDelegation.objects.exists()


def test_reps_cannot_set_delegations(page_client, rep):
    assert page_client(rep).get("/approvals/delegation/").status_code == 403


# --- chat -------------------------------------------------------------------------------


def test_new_requests_are_posted_to_chat_once_with_links(chat, manager, two_pending):
    approvers_notify()
    approvers_notify(now=timezone.now() + timedelta(minutes=6))

    (post,) = chat.posts
    assert post["text"].startswith("2 new actions waiting for approval")
    for action in two_pending:
        assert f"<http://acme.localhost/approvals/{action.pk}/|" in post["text"]


def test_a_loopback_chat_url_is_refused_when_saved(page_client, admin_user):
    settings_row, _ = ApprovalSettings.objects.get_or_create(singleton=True)

    response = page_client(admin_user).post(
        f"/admin/approvals/approvalsettings/{settings_row.pk}/change/",
        {"timeout_hours": 48, "webhook_url": "", "chat_webhook_url": "http://[::1]:8080/hook"},
    )

    assert "::1 is a loopback address" in response.content.decode()
    assert ApprovalSettings.objects.get().chat_webhook_url == ""


def test_the_job_runs_a_fixed_number_of_queries_whatever_the_volume(
    manager, admin_user, propose, django_assert_max_num_queries
):
    for _ in range(3):
        propose(amount=Decimal("75000"))
    with django_assert_max_num_queries(14) as few:
        approvers_notify()
    for _ in range(30):
        propose(amount=Decimal("75000"))
    UserFactory.create_batch(5, role="manager")
    with django_assert_max_num_queries(len(few.captured_queries)):
        result = approvers_notify(now=timezone.now() + timedelta(minutes=6))
    assert result.emails == 7


def test_a_live_link_never_reaches_the_request_log(client, manager, two_pending, caplog):
    approvers_notify()
    url = _links(_to("maria@example.com")[0])["reject"][0]
    token = url.split("/")[3]

    with caplog.at_level("WARNING", logger="django.request"):
        client.post(url, {"reason": ""}, HTTP_HOST="acme.localhost")  # 400: reason missing

    assert "Bad Request: /approvals/email/[link]/" in caplog.text
    assert token not in caplog.text


def test_the_job_in_one_organisation_never_emails_another(
    org, other_org, in_org, other_org_manager, manager, two_pending
):
    approvers_notify()

    assert _to("olga@example.com") == []
    with in_org(other_org):
        assert approvers_notify().emails == 0  # nothing pending there
        assert not ApprovalNotice.objects.exists()


def test_links_in_emails_carry_the_public_port_when_there_is_one(org, settings):
    from apps.tenancy.current import site_url

    settings.PUBLIC_PORT = ""
    assert site_url() == "http://acme.localhost"
    settings.PUBLIC_PORT = "8000"
    assert site_url() == "http://acme.localhost:8000"
    settings.PRODUCTION = True
    assert site_url().startswith("https://acme.localhost")
