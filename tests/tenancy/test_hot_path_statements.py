"""The statements each hot path sends, pinned (bench/run.py --hot-only times the same six).

In a committed organisation (``fresh_org``: autocommit, no test transaction around the
request), on a warm process: the host, the API key and the connection's search_path are
known, so what is counted is the request's own work. A session is read with its user in
one statement; the tests' in-memory cache counts the throttle, as Redis does in
production, without SQL. A transaction's BEGIN and COMMIT are round trips, and counted.
"""

from __future__ import annotations

import pytest
from django.test import Client

from apps.approvals.models import ActionStatus, ProposedAction
from apps.feedback.models import FeedbackEntry
from apps.tenancy.services import default_domain_for
from apps.users.services import api_key_create
from tests.factories.approvals import PendingActionFactory
from tests.factories.outcomes import OutcomeFactory
from tests.factories.users import UserFactory


@pytest.fixture
def hot(fresh_org):
    host = default_domain_for(fresh_org.slug)
    manager = UserFactory(username="maria", role="manager")
    agent = Client(HTTP_HOST=host, HTTP_AUTHORIZATION=f"Bearer {api_key_create(name='a')[1]}")
    manager_key = api_key_create(name="m", user=manager)[1]
    manager_api = Client(HTTP_HOST=host, HTTP_AUTHORIZATION=f"Bearer {manager_key}")
    browser = Client(HTTP_HOST=host, enforce_csrf_checks=True)
    browser.force_login(manager)
    browser.get("/approvals/")  # the page sets the CSRF cookie HTMX sends back
    htmx = {"HTTP_X_CSRFTOKEN": browser.cookies["ll_csrftoken"].value, "HTTP_HX_REQUEST": "true"}

    class Hot:
        outcomes = [OutcomeFactory() for _ in range(2)]
        actions = [PendingActionFactory() for _ in range(2)]

        def get_outcome(self, number):
            return agent.get(f"/api/v1/outcomes/{self.outcomes[number].pk}/")

        def get_action(self, number):
            return agent.get(f"/api/v1/actions/{self.actions[number].pk}/")

        def rate(self, number):
            body = {"outcome": self.outcomes[number].pk, "kind": "inline", "rating": 1}
            return manager_api.post("/api/v1/feedback/", body, content_type="application/json")

        def decide(self, number):
            return manager_api.post(
                f"/api/v1/actions/{self.actions[number].pk}/decision/",
                {"decision": "approve", "reason": "Looks right."},
                content_type="application/json",
            )

        def rate_inline(self, number):
            outcome = self.outcomes[number].pk
            return browser.post(f"/feedback/outcomes/{outcome}/rate/", {"rating": -1}, **htmx)

        def approve(self, number):
            action = self.actions[number].pk
            return browser.post(f"/approvals/{action}/decide/", {"decision": "approve"}, **htmx)

    return Hot()


# (operation, statements, status): the second call is counted, the first warms the process.
HOT_PATHS = [
    ("get_outcome", 1, 200),  # the record with its four references
    ("get_action", 1, 200),  # the action with its references
    ("rate", 1, 201),  # the upsert, selecting the outcome's id (visibility) itself
    # the conditional update with its event, reading the action back, in one statement
    # (no webhook set: nothing else is written, so no BEGIN and COMMIT)
    ("decide", 1, 200),
    ("rate_inline", 2, 200),  # the session with its user, then as "rate"
    ("approve", 2, 200),  # the session with its user, then as "decide"
]


@pytest.mark.parametrize(("operation", "statements", "status"), HOT_PATHS)
def test_a_hot_path_sends_a_fixed_number_of_statements(
    hot, operation, statements, status, django_assert_num_queries
):
    send = getattr(hot, operation)
    assert send(0).status_code == status
    with django_assert_num_queries(statements):
        response = send(1)
    assert response.status_code == status, response.content


def test_the_hot_writes_are_made(hot):
    hot.rate(0)
    hot.rate_inline(1)
    hot.decide(0)
    hot.approve(1)
    assert sorted(FeedbackEntry.objects.values_list("kind", "rating")) == [
        ("inline", -1),
        ("inline", 1),
    ]
    assert set(ProposedAction.objects.values_list("status", flat=True)) == {ActionStatus.APPROVED}


def test_approving_in_the_queue_reads_back_only_what_confirms_it(hot):
    """The toast names the type and account; the API's answer needs the whole action."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queue:
        response = hot.approve(0)
    with CaptureQueriesContext(connection) as api:
        hot.decide(1)
    account = hot.actions[0].account.name
    assert f"for {account}" in response.headers["HX-Trigger"]
    decision = queue.captured_queries[-1]["sql"]
    assert '"crm_account"."name"' in decision
    assert '"crm_deal"' not in decision and '"payload"' not in decision
    assert '"crm_deal"' in api.captured_queries[-1]["sql"]
