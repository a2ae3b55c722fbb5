"""Webhook SSRF (issue 20.5): an organisation's outbound URLs reach public addresses only.

Checked when the URL is saved (admin form, model validation) and again at send time after
DNS resolution; redirects are never followed; the delivery log never echoes what an
internal target answered. Real sockets on 127.0.0.1 play the internal services.
"""

from __future__ import annotations

import socket
import threading
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.exceptions import ValidationError

from apps.approvals.models import ApprovalSettings, WebhookDelivery
from apps.approvals.services import action_decide, action_propose, webhook_attempt
from apps.tenancy.outbound import (
    OutboundRefused,
    post_json,
    resolve_public,
    validate_outbound_url,
)
from tests.factories.crm import AccountFactory

INTERNAL_ANSWER = b"root:x:0:0:INTERNAL-SECRET"


@pytest.fixture
def pending(org):
    """A proposal waiting for a decision (amounts from 50,000 need approval)."""
    account = AccountFactory(external_id="acc-ssrf", name="Acme Robotics")
    return action_propose(
        external_id="p-ssrf",
        action_type="email_sent",
        account=account,
        proposed_by="agent:test",
        payload={"subject": "Hi"},
        amount=Decimal("75000"),
    )[0]


REFUSED = [
    "http://127.0.0.1:5432/",
    "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
    "http://[::1]:8080/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://[::ffff:169.254.169.254]/",
    "http://localhost:8000/hook",
    "http://api.localhost/hook",
    "http://2130706433/",  # decimal 127.0.0.1
    "http://0177.0.0.1/",  # octal 127.0.0.1
    "http://0x7f.1/",  # hex 127.0.0.1
    "http://0/",  # 0.0.0.0
    "http://10.1.2.3/hook",
    "http://192.168.1.1/hook",
    "http://172.16.0.1/hook",
    "http://100.64.0.1/hook",  # carrier-grade NAT
    "http://224.0.0.1/hook",  # multicast
    "http://[fe80::1]/hook",
    "http://[fc00::1]/hook",
    "http://0.0.0.0:8000/",
    "ftp://example.com/hook",
    "file:///etc/passwd",
    "gopher://example.com/",
    "http://user:pw@example.com/hook",
    "http:///nohost",
    "not a url",
]


@pytest.mark.parametrize("url", REFUSED)
def test_internal_and_odd_urls_are_refused_when_saved(url):
    with pytest.raises(ValidationError):
        validate_outbound_url(url)


@pytest.mark.parametrize("url", REFUSED)
def test_internal_and_odd_urls_are_refused_at_send_time(url):
    with pytest.raises(OutboundRefused):
        post_json(url, b"{}", {})


def test_a_public_address_is_accepted():
    validate_outbound_url("https://93.184.215.14/hook")
    validate_outbound_url("http://8.8.8.8:8443/hook?x=1")


def test_production_accepts_https_only(settings):
    settings.PRODUCTION = True
    with pytest.raises(ValidationError, match="https"):
        validate_outbound_url("http://8.8.8.8/hook")
    validate_outbound_url("https://8.8.8.8/hook")


def test_a_host_name_that_resolves_to_loopback_is_refused_after_resolution():
    name = socket.gethostname()
    addresses = {info[4][0] for info in socket.getaddrinfo(name, 80)}
    if all(not address.startswith(("127.", "10.", "192.168.", "::1")) for address in addresses):
        pytest.skip(f"{name} resolves to a public address here")
    with pytest.raises(OutboundRefused, match="resolves to"):
        resolve_public(f"http://{name}:5432/")
    with pytest.raises(ValidationError):
        validate_outbound_url(f"http://{name}:5432/")


class Internal:
    """A service on loopback that would leak data if the webhook reached it."""

    def __init__(self, status: int = 200, location: str = ""):
        self.hits = 0
        internal = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self):
                internal.hits += 1
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                self.send_response(status)
                if location:
                    self.send_header("Location", location)
                self.end_headers()
                self.wfile.write(INTERNAL_ANSWER)

            do_GET = do_POST = _answer  # noqa: N815

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def internal():
    services: list[Internal] = []

    def make(**kwargs) -> Internal:
        service = Internal(**kwargs)
        services.append(service)
        return service

    yield make
    for service in services:
        service.close()


def test_the_admin_form_refuses_an_internal_webhook_and_keeps_the_old_one(page_client, admin_user):
    settings_row, _ = ApprovalSettings.objects.get_or_create(singleton=True)
    ApprovalSettings.objects.update(webhook_url="https://8.8.8.8/hook", webhook_secret="x" * 43)
    client = page_client(admin_user)

    response = client.post(
        f"/admin/approvals/approvalsettings/{settings_row.pk}/change/",
        {
            "timeout_hours": 48,
            "webhook_url": "http://169.254.169.254/latest/",
            "chat_webhook_url": "",
        },
    )

    assert response.status_code == 200  # the form again, with the error
    assert "169.254.169.254 is a link-local address" in response.text
    assert ApprovalSettings.objects.get().webhook_url == "https://8.8.8.8/hook"


def test_a_stored_internal_url_is_refused_at_send_time_and_never_contacted(
    internal, pending, manager, django_capture_on_commit_callbacks
):
    service = internal()
    # Stored before validation existed (or by a direct database write): the send re-checks.
    ApprovalSettings.objects.update(webhook_url=service.url, webhook_secret="k" * 43)
    with django_capture_on_commit_callbacks(execute=False):
        action_decide(action_id=pending.pk, user=manager, decision="approve")
    delivery = WebhookDelivery.objects.get(action=pending)

    assert webhook_attempt(delivery_id=delivery.pk) is False

    delivery.refresh_from_db()
    assert service.hits == 0
    assert delivery.last_status_code is None
    assert delivery.last_error == "Refused: 127.0.0.1 is a loopback address."
    assert "INTERNAL" not in str(delivery.attempt_log)


def test_redirects_are_not_followed_and_the_answer_is_not_logged(
    internal, pending, manager, settings, django_capture_on_commit_callbacks
):
    target = internal()  # where the redirect points: must never be reached
    bouncer = internal(status=302, location=f"http://127.0.0.1:{target.port}/")
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]  # let the test reach the bouncer
    ApprovalSettings.objects.update(webhook_url=bouncer.url, webhook_secret="k" * 43)
    with django_capture_on_commit_callbacks(execute=False):
        action_decide(action_id=pending.pk, user=manager, decision="approve")
    delivery = WebhookDelivery.objects.get(action=pending)

    assert webhook_attempt(delivery_id=delivery.pk) is False

    delivery.refresh_from_db()
    assert (bouncer.hits, target.hits) == (1, 0)
    assert delivery.status == "pending" and delivery.last_status_code == 302
    assert delivery.last_error == "HTTP 302: redirects are not followed"
    assert "INTERNAL" not in str(delivery.attempt_log)


def test_the_send_connects_to_the_address_it_checked(internal, settings):
    """No second DNS lookup: the connection goes to the resolved, checked address."""
    service = internal()
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    target, address = resolve_public(service.url)

    assert str(address) == "127.0.0.1"
    assert post_json(service.url, b"{}", {}).status_code == 200
    assert service.hits == 1
