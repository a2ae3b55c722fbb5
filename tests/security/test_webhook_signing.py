"""Webhook signing (issue 20.6): never an empty key; timestamp signed; rotation overlaps.

A real receiver on 127.0.0.1 checks deliveries with the verification code the README
documents (run from the README itself, so the documentation stays true).
"""

from __future__ import annotations

import re
import threading
import time
from datetime import timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.utils import timezone

from apps.approvals.models import ApprovalSettings, WebhookDelivery
from apps.approvals.services import (
    action_decide,
    action_propose,
    webhook_attempt,
    webhook_secret_rotate,
)
from tests.factories.crm import AccountFactory

README = Path(__file__).resolve().parents[2] / "README.md"


def _readme_verify():
    """The ``verify`` function exactly as the README shows it."""
    text = README.read_text()
    code = re.search(r"```python\n(import hashlib, hmac, time\n.*?)```", text, re.S).group(1)
    assert len(code.strip().splitlines()) <= 11  # "a 10-line example" (+ the import line)
    namespace: dict = {}
    exec(code, namespace)  # noqa: S102 - our own README
    return namespace["verify"]


class Receiver:
    def __init__(self):
        self.requests: list[tuple] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((self.headers, body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver(org, settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    hook = Receiver()
    yield hook
    hook.server.shutdown()
    hook.server.server_close()


@pytest.fixture
def decide(org, manager, django_capture_on_commit_callbacks):
    """Decide a fresh pending proposal; returns its webhook delivery (not yet sent)."""
    account = AccountFactory(external_id="acc-sign", name="Acme")
    counter = iter(range(1, 1000))

    def make() -> WebhookDelivery:
        action = action_propose(
            external_id=f"p-sign-{next(counter)}",
            action_type="email_sent",
            account=account,
            proposed_by="agent:test",
            amount=Decimal("90000"),
        )[0]
        with django_capture_on_commit_callbacks(execute=False):
            action_decide(action_id=action.pk, user=manager, decision="approve")
        return WebhookDelivery.objects.get(action=action)

    return make


def test_saving_a_webhook_without_a_secret_generates_one_shown_once(
    page_client, admin_user, receiver
):
    settings_row, _ = ApprovalSettings.objects.get_or_create(singleton=True)
    client = page_client(admin_user)
    url = f"/admin/approvals/approvalsettings/{settings_row.pk}/change/"

    response = client.post(
        url, {"timeout_hours": 48, "webhook_url": receiver.url, "chat_webhook_url": ""}
    )

    secret = ApprovalSettings.objects.get().webhook_secret
    assert len(secret) >= 43  # 32 random bytes, URL-safe base64
    assert response.status_code == 200 and secret in response.text
    assert "no-store" in response["Cache-Control"]
    assert all(secret not in morsel.value for morsel in response.cookies.values())
    assert secret not in client.get(url).text  # never shown again


def test_a_blank_secret_never_signs_the_delivery_is_refused(decide, receiver):
    ApprovalSettings.objects.update(webhook_url=receiver.url, webhook_secret="")
    delivery = decide()

    assert webhook_attempt(delivery_id=delivery.pk) is False

    delivery.refresh_from_db()
    assert receiver.requests == []
    assert "no secret" in delivery.last_error


def test_a_delivery_is_signed_over_timestamp_and_body_and_verifies_with_the_readme_code(
    decide, receiver
):
    ApprovalSettings.objects.update(webhook_url=receiver.url, webhook_secret="s" * 43)
    verify = _readme_verify()

    assert webhook_attempt(delivery_id=decide().pk) is True

    headers, body = receiver.requests[0]
    assert abs(int(headers["X-LearningLoop-Timestamp"]) - time.time()) < 10
    assert verify("s" * 43, headers, body)
    assert not verify("wrong" * 9, headers, body)
    assert not verify("s" * 43, headers, body + b" ")  # a tampered body fails
    replayed = {**dict(headers.items()), "X-LearningLoop-Timestamp": str(int(time.time()) - 3600)}
    assert not verify("s" * 43, replayed, body)  # an old timestamp is a replay


def test_rotation_signs_with_both_secrets_during_the_overlap_then_the_new_one_only(
    decide, receiver
):
    ApprovalSettings.objects.update(webhook_url=receiver.url, webhook_secret="old" * 15)
    verify = _readme_verify()

    new_secret = webhook_secret_rotate(overlap_hours=24)
    webhook_attempt(delivery_id=decide().pk)
    ApprovalSettings.objects.update(
        webhook_previous_secret_until=timezone.now() - timedelta(seconds=1)
    )
    webhook_attempt(delivery_id=decide().pk)

    assert len(new_secret) >= 43 and new_secret != "old" * 15
    (during_headers, during_body), (after_headers, after_body) = receiver.requests
    assert len(during_headers["X-LearningLoop-Signature"].split(",")) == 2
    assert verify(new_secret, during_headers, during_body)
    assert verify("old" * 15, during_headers, during_body)
    assert len(after_headers["X-LearningLoop-Signature"].split(",")) == 1
    assert verify(new_secret, after_headers, after_body)
    assert not verify("old" * 15, after_headers, after_body)


def test_the_admin_rotate_button_shows_the_new_secret_once(page_client, admin_user, manager):
    ApprovalSettings.objects.update(webhook_secret="old" * 15)
    settings_row = ApprovalSettings.objects.get()
    admin = page_client(admin_user)

    page = admin.get(f"/admin/approvals/approvalsettings/{settings_row.pk}/change/")
    response = admin.post("/admin/approvals/approvalsettings/rotate-secret/")

    assert 'form="rotate-secret"' in page.text
    new_secret = ApprovalSettings.objects.get().webhook_secret
    assert new_secret != "old" * 15 and new_secret in response.text
    assert admin.get("/admin/approvals/approvalsettings/rotate-secret/").status_code == 405
    manager_response = page_client(manager).post("/admin/approvals/approvalsettings/rotate-secret/")
    assert manager_response.status_code == 302  # to the admin login: not staff
    assert ApprovalSettings.objects.get().webhook_secret == new_secret


def test_another_organisations_secret_is_untouched_by_a_rotation(org, other_org, in_org):
    with in_org(other_org):
        ApprovalSettings.objects.get_or_create(singleton=True)
        ApprovalSettings.objects.update(webhook_secret="globex" * 8)
    ApprovalSettings.objects.get_or_create(singleton=True)

    webhook_secret_rotate()

    with in_org(other_org):
        assert ApprovalSettings.objects.get().webhook_secret == "globex" * 8
