"""Decisions are POSTed to the org's webhook, signed, and retried with backoff on failure.

A real HTTP server on 127.0.0.1 receives them; nothing is mocked. Loopback is refused for
webhooks (tests/security/test_webhook_ssrf.py), so these tests allow it on purpose.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from apps.approvals.models import ApprovalSettings, WebhookDelivery
from apps.approvals.services import action_decide, webhook_signature, webhooks_retry
from apps.approvals.tasks import WEBHOOK_MAX_RETRIES, deliver_webhook, webhook_backoff

SECRET = "s3cret-for-tests"


class Receiver:
    """A local webhook endpoint that answers the given status codes in turn."""

    def __init__(self, statuses: list[int]):
        self.statuses = list(statuses)
        self.requests: list[tuple[dict, bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((self.headers, body))  # case-insensitive
                code = (
                    receiver.statuses.pop(0) if len(receiver.statuses) > 1 else receiver.statuses[0]
                )
                self.send_response(code)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(org, settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]

    def make(statuses: list[int]) -> Receiver:
        receiver = Receiver(statuses)
        ApprovalSettings.objects.update(webhook_url=receiver.url, webhook_secret=SECRET)
        return receiver

    return make


def _decide(pending, manager, django_capture_on_commit_callbacks, **kwargs):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        action_decide(action_id=pending.pk, user=manager, **kwargs)
    assert len(callbacks) == 1  # the send is queued after commit
    return WebhookDelivery.objects.get(action=pending)


def test_a_decision_is_delivered_signed_with_hmac_sha256(
    receiver, pending, manager, django_capture_on_commit_callbacks
):
    with receiver([200]) as hook:
        delivery = _decide(
            pending, manager, django_capture_on_commit_callbacks, decision="reject", reason="No"
        )
        result = deliver_webhook.apply(args=[delivery.pk]).get()

    assert result == "delivered"
    headers, body = hook.requests[0]
    signed = headers["X-Learningloop-Timestamp"].encode() + b"." + body
    expected = "sha256=" + hmac.new(SECRET.encode(), signed, hashlib.sha256).hexdigest()
    assert headers["X-Learningloop-Signature"] == expected
    assert headers["X-Learningloop-Event"] == "action.rejected"
    payload = json.loads(body)
    assert payload["event"] == "action.rejected"
    assert payload["action"]["id"] == pending.pk
    assert (payload["action"]["status"], payload["action"]["decided_by"]) == ("rejected", "maria")
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 1, 200)


def test_a_failing_receiver_is_retried_until_it_answers(
    receiver, pending, manager, django_capture_on_commit_callbacks
):
    with receiver([500, 503, 200]) as hook:
        delivery = _decide(pending, manager, django_capture_on_commit_callbacks, decision="approve")
        result = deliver_webhook.apply(args=[delivery.pk]).get()

    assert result == "delivered"
    assert len(hook.requests) == 3
    delivery.refresh_from_db()
    assert delivery.status == "delivered"
    assert [attempt["status_code"] for attempt in delivery.attempt_log] == [500, 503, 200]
    assert delivery.last_error == ""


def test_delivery_gives_up_after_the_last_retry_and_says_so(
    receiver, pending, manager, django_capture_on_commit_callbacks
):
    with receiver([500]) as hook:
        delivery = _decide(pending, manager, django_capture_on_commit_callbacks, decision="approve")
        result = deliver_webhook.apply(args=[delivery.pk]).get()

    assert result == "failed"
    assert len(hook.requests) == WEBHOOK_MAX_RETRIES + 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_error) == (
        "failed",
        WEBHOOK_MAX_RETRIES + 1,
        "HTTP 500",
    )


def test_an_unreachable_receiver_is_logged_as_an_error(
    receiver, pending, manager, django_capture_on_commit_callbacks
):
    hook = receiver([200])  # never started: the port refuses connections
    hook.server.server_close()
    delivery = _decide(pending, manager, django_capture_on_commit_callbacks, decision="approve")

    deliver_webhook.apply(args=[delivery.pk])

    delivery.refresh_from_db()
    assert delivery.status == "failed"
    assert delivery.last_status_code is None
    assert delivery.last_error


def test_retries_back_off_exponentially_up_to_an_hour():
    assert [webhook_backoff(n) for n in range(4)] == [30, 60, 120, 240]
    assert webhook_backoff(20) == 3600


def test_without_a_webhook_url_nothing_is_queued(
    pending, manager, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        action_decide(action_id=pending.pk, user=manager, decision="approve")

    assert callbacks == []
    assert not WebhookDelivery.objects.exists()


def test_expiry_is_announced_by_webhook_too(receiver, pending, django_capture_on_commit_callbacks):
    from datetime import timedelta

    from django.utils import timezone

    from apps.approvals.models import ProposedAction
    from apps.approvals.services import actions_expire

    ProposedAction.objects.filter(pk=pending.pk).update(expires_at=timezone.now() - timedelta(1))
    with receiver([200]), django_capture_on_commit_callbacks(execute=False):
        actions_expire()

    assert WebhookDelivery.objects.get(action=pending).event == "action.expired"


def test_the_signature_helper_matches_what_a_receiver_computes():
    body = b'{"event": "action.approved"}'

    assert webhook_signature("k", body, 1700000000) == (
        "sha256=" + hmac.new(b"k", b"1700000000." + body, hashlib.sha256).hexdigest()
    )


def test_an_admin_can_send_a_failed_delivery_again(
    receiver, pending, manager, django_capture_on_commit_callbacks
):
    with receiver([500]):
        delivery = _decide(pending, manager, django_capture_on_commit_callbacks, decision="approve")
        deliver_webhook.apply(args=[delivery.pk])
    with receiver([200]) as hook:
        ApprovalSettings.objects.update(webhook_url=hook.url)
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            assert webhooks_retry(delivery_ids=[delivery.pk]) == 1
        assert len(callbacks) == 1
        deliver_webhook.apply(args=[delivery.pk])

    delivery.refresh_from_db()
    assert delivery.status == "delivered"
    assert delivery.attempts == WEBHOOK_MAX_RETRIES + 2
