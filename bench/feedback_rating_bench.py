"""Feedback benchmark: latency of saving an inline rating next to a bare Django view.

Both requests go over real HTTP to the same threaded WSGI server, through the whole
middleware stack (tenant routing by host, session, CSRF, auth), as a logged-in rep with
a keep-alive connection. The bare view answers "ok" and touches nothing else; the rating
is ``POST /feedback/outcomes/<id>/rate/`` as HTMX sends it (it saves the entry and renders
the rating partial). Ratings cycle through −1, 0, +1 so that every save is a real update.

Runs in a scratch organisation (its own schema, dropped at the end) on DATABASE_URL:

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/ll_bench \\
        .venv/bin/python bench/feedback_rating_bench.py [--requests 500] [--outputs 2000]

Prints median and p95 of each, and the ratio of the medians (target: rating ≤ 3× bare).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import statistics
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "learning_site.settings")
os.environ.setdefault("DJANGO_DEBUG", "0")

import django  # noqa: E402

django.setup()

from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.db import connection  # noqa: E402
from django.http import HttpResponse  # noqa: E402
from django.urls import clear_url_caches, path  # noqa: E402
from django.utils import timezone  # noqa: E402
from django_tenants.utils import schema_context  # noqa: E402

from apps.crm.models import Account  # noqa: E402
from apps.outcomes.models import ActionType, OutcomeRecord  # noqa: E402
from apps.tenancy.services import organization_create, public_tenant_ensure  # noqa: E402
from apps.users.services import user_create  # noqa: E402
from learning_site import urls as tenant_urls  # noqa: E402

SLUG = "benchfeedback"
PASSWORD = "bench-password-123"


def bare(request):
    return HttpResponse("ok")


class QuietHandler(WSGIRequestHandler):
    def log_message(self, *args) -> None:
        pass


def populate(outputs: int) -> int:
    """A rep owning 20 accounts with ``outputs`` agent outputs; returns one output id."""
    user_create(username="bench-rep", role="rep", password=PASSWORD, check_password=False)
    from apps.users.models import User

    rep = User.objects.get(username="bench-rep")
    accounts = Account.objects.bulk_create(
        Account(external_id=f"bench-acc-{n}", name=f"Bench {n}", owner=rep) for n in range(20)
    )
    email = ActionType.objects.get(code="email_sent")
    now = timezone.now()
    records = OutcomeRecord.objects.bulk_create(
        OutcomeRecord(
            external_id=f"bench-out-{n}",
            action_type=email,
            account=accounts[n % 20],
            predicted_confidence=0.6,
            occurred_at=now - timedelta(minutes=n),
            window_ends_at=now + timedelta(hours=24),
            output_text="Hi Dana, quick question: could we book a call on Tuesday?",
        )
        for n in range(outputs)
    )
    return records[len(records) // 2].pk


class Session:
    """A keep-alive HTTP connection with cookies, logged in through the real login form."""

    def __init__(self, port: int, host: str):
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.host = host
        self.cookies: dict[str, str] = {}

    def request(self, method: str, url: str, body: str | None = None, headers=None):
        headers = {"Host": self.host, **(headers or {})}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        self.connection.request(method, url, body=body, headers=headers)
        response = self.connection.getresponse()
        content = response.read()
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name] = rest.split(";", 1)[0]
        return response.status, content

    def login(self, username: str, password: str) -> None:
        status, page = self.request("GET", "/login/")
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        body = urlencode(
            {"csrfmiddlewaretoken": token.decode(), "username": username, "password": password}
        )
        status, _ = self.request("POST", "/login/", body, {"Referer": f"http://{self.host}/"})
        assert status == 302, f"login failed: {status}"


def measure(func, count: int, warmup: int = 30) -> list[float]:
    for _ in range(warmup):
        func(0)
    samples = []
    for index in range(count):
        start = time.perf_counter()
        func(index)
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "median_ms": round(statistics.median(ordered), 3),
        "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))], 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--outputs", type=int, default=2000)
    args = parser.parse_args()

    public_tenant_ensure()
    from apps.tenancy.models import Organization

    stale = Organization.objects.filter(slug=SLUG).first()
    if stale is not None:
        stale.delete(force_drop=True)
    org = organization_create(slug=SLUG, name="Feedback bench")
    try:
        with schema_context(org.schema_name):
            outcome_id = populate(args.outputs)
        connection.set_schema_to_public()
        connection.close()

        tenant_urls.urlpatterns.insert(0, path("bench/bare/", bare))
        clear_url_caches()
        server = ThreadedWSGIServer(("127.0.0.1", 0), QuietHandler)
        server.set_app(get_wsgi_application())
        threading.Thread(target=server.serve_forever, daemon=True).start()
        port = server.server_address[1]

        client = Session(port, f"{SLUG}.localhost")
        client.login("bench-rep", PASSWORD)
        csrf = client.cookies["ll_csrftoken"]
        rate_url = f"/feedback/outcomes/{outcome_id}/rate/"

        def bare_request(_):
            status, _body = client.request("GET", "/bench/bare/")
            assert status == 200, status

        def rate_request(index):
            rating = (-1, 0, 1)[index % 3]
            status, body = client.request(
                "POST",
                rate_url,
                urlencode({"rating": rating}),
                {"X-CSRFToken": csrf, "HX-Request": "true", "Referer": f"http://{client.host}/"},
            )
            assert status == 200, (status, body[:300])

        # Interleave the two so that both see the same machine load.
        bare_samples, rate_samples = [], []
        for _ in range(5):
            bare_samples += measure(bare_request, args.requests // 5)
            rate_samples += measure(rate_request, args.requests // 5)
        server.shutdown()
        result = {
            "requests_each": len(bare_samples),
            "outputs_in_org": args.outputs,
            "bare_view": summary(bare_samples),
            "rating_save": summary(rate_samples),
        }
        result["ratio_median"] = round(
            result["rating_save"]["median_ms"] / result["bare_view"]["median_ms"], 2
        )
        result["ratio_p95"] = round(
            result["rating_save"]["p95_ms"] / result["bare_view"]["p95_ms"], 2
        )
        result["target"] = "rating median ≤ 3 × bare median"
        result["met"] = result["ratio_median"] <= 3
        print(json.dumps(result, indent=2, ensure_ascii=False))
    finally:
        connection.close()
        connection.set_schema_to_public()
        org.delete(force_drop=True)


if __name__ == "__main__":
    main()
