"""Managers read an action as the customer would receive it, and may approve an edited one.

Rendering per action type (email, LinkedIn, meeting, pricing) on the queue card, the
detail page and in the organisation's currency; approve-with-edits over the API and the
page, with validation per type, the diff in the audit trail, and what the agent sees.
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from apps.approvals.models import ActionEvent, ProposedAction, WebhookDelivery
from apps.approvals.rendering import render_action
from apps.approvals.selectors import action_corrections
from apps.approvals.services import action_decide, action_record_result
from apps.feedback.models import FeedbackEntry
from apps.tenancy.money import format_money

HTMX = {"HTTP_HX_REQUEST": "true"}
BODY = "Hi Dana,\n\nThanks for the call.\nThe proposal is attached.\n\nBest,\nAlex"


@pytest.fixture
def email(propose):
    return propose(
        amount=Decimal("75000"),
        payload={"to": "dana@example.com", "subject": "Your proposal", "body": BODY},
    )


def _decision_url(action):
    return f"/api/v1/actions/{action.pk}/decision/"


# --- money -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "currency", "locale", "expected"),
    [
        ("1234.5", "USD", "en-us", "$1,234.50"),
        ("1234.5", "EUR", "de", "1.234,50\u00a0€"),
        ("1234.5", "GBP", "en-gb", "£1,234.50"),
        ("1234567", "JPY", "en", "¥1,234,567"),
        ("1234.5", "NOK", "en", "1,234.50\u00a0NOK"),
        ("-20", "USD", "en", "−$20"),
        (None, "USD", "en", "—"),
        ("not money", "USD", "en", "—"),
    ],
)
def test_money_is_written_in_its_currency_for_the_readers_locale(
    amount, currency, locale, expected
):
    assert format_money(amount, currency, locale) == expected


# --- rendering -------------------------------------------------------------------------


def test_the_queue_card_shows_the_whole_email_with_its_line_breaks(page_client, manager, email):
    html = page_client(manager).get("/approvals/").content.decode()

    assert "Read it in full" in html  # the card expands
    assert '<dd class="r-text">' + BODY.replace("\n", "\n") in html.replace("&#x27;", "'")
    assert "dana@example.com" in html and "Your proposal" in html
    assert "Show raw" in html  # the JSON only behind the toggle


def test_the_detail_page_shows_the_email_as_it_will_be_sent(page_client, manager, email):
    html = page_client(manager).get(f"/approvals/{email.pk}/").content.decode()

    assert "What the customer would receive" in html
    assert BODY in html
    assert html.index("<summary>Show raw</summary>") < html.index("&quot;subject&quot;")


def test_a_linkedin_message_renders_as_a_message(propose):
    action = propose(
        action_type="linkedin_message",
        payload={"profile": "linkedin.com/in/dana", "message": "Congrats!\nSee you at the summit."},
    )
    rendered = render_action(action)

    assert (rendered.kind, rendered.title) == ("linkedin", "LinkedIn message")
    assert [(f.label, f.value) for f in rendered.fields] == [
        ("To (profile)", "linkedin.com/in/dana"),
        ("Message", "Congrats!\nSee you at the summit."),
    ]


def test_a_meeting_invite_says_who_when_and_the_agenda(propose):
    action = propose(
        action_type="meeting_request",
        payload={
            "contact_name": "Sofia Brandt",
            "contact_title": "CRO",
            "start": "2026-03-02T14:30",
            "duration_minutes": 30,
            "agenda": "1. Priorities\n2. Next steps",
        },
    )
    labels = {f.label: f.value for f in render_action(action).fields}

    assert labels == {
        "Who": "Sofia Brandt",
        "Their role": "CRO",
        "When": "2026-03-02T14:30",
        "Duration (minutes)": "30",
        "Agenda": "1. Priorities\n2. Next steps",
    }


def test_a_discount_shows_terms_percentage_and_deal_value_before_and_after(propose, deal, org):
    action = propose(
        action_type="discount_offer",
        deal=deal,
        discount_pct=Decimal("10"),
        payload={"terms": "10 % off a 3-year renewal", "to": "cfo@example.com"},
    )
    rendered = render_action(action, locale="en")

    assert rendered.kind == "pricing"
    assert dict(rendered.money) == {
        "Discount": "10 %",
        "Deal value before": "$80,000",
        "Deal value after": "$72,000",
    }
    org.currency = "EUR"
    assert dict(render_action(action, locale="de").money)["Deal value after"] == "72.000\u00a0€"


def test_pages_show_money_in_the_organisations_currency(page_client, manager, email, org):
    org.currency = "EUR"
    org.save(update_fields=["currency"])

    html = page_client(manager).get(f"/approvals/{email.pk}/").content.decode()

    assert "€75,000" in html


# --- approve with edits: API -----------------------------------------------------------


def test_an_approver_approves_an_edited_email_and_the_agent_executes_the_edit(
    manager_api, agent_api, email
):
    edited = {**email.payload, "body": "Hi Dana,\n\nShorter and kinder."}

    response = manager_api.post(
        _decision_url(email), {"decision": "approve", "payload": edited}, format="json"
    )

    assert response.status_code == 200
    data = agent_api.get(f"/api/v1/actions/{email.pk}/").json()
    assert data["status"] == "approved" and data["edited"] is True
    assert data["final_payload"]["body"] == "Hi Dana,\n\nShorter and kinder."
    assert data["payload"]["body"] == BODY  # what the agent proposed is kept


def test_without_edits_final_payload_equals_payload(manager_api, agent_api, email):
    manager_api.post(_decision_url(email), {"decision": "approve"}, format="json")

    data = agent_api.get(f"/api/v1/actions/{email.pk}/").json()
    assert data["final_payload"] == data["payload"] and data["edited"] is False


def test_an_unchanged_payload_is_not_an_edit(manager_api, email):
    manager_api.post(
        _decision_url(email), {"decision": "approve", "payload": email.payload}, format="json"
    )

    email.refresh_from_db()
    assert (email.status, email.edited, email.final_payload) == ("approved", False, None)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"decision": "approve", "payload": {"to": "not an address", "subject": "x"}}, "to"),
        ({"decision": "approve", "payload": {"to": "dana@example.com", "subject": ""}}, "subject"),
        ({"decision": "approve", "payload": {"to": "a@b.co", "subject": "two\nlines"}}, "subject"),
        ({"decision": "approve", "payload": "not an object"}, "payload"),
        (
            {"decision": "approve", "payload": {"to": "a@b.co", "subject": "x", "n\u0000": 1}},
            "payload",
        ),
        ({"decision": "reject", "reason": "no", "payload": {"subject": "x"}}, "payload"),
        ({"decision": "approve", "payload": {"to": "a@b.co", "subject": "x" * 301}}, "subject"),
    ],
)
def test_a_bad_edit_is_a_400_naming_the_field_and_changes_nothing(manager_api, email, body, field):
    response = manager_api.post(_decision_url(email), body, format="json")

    assert response.status_code == 400
    assert field in response.json()
    email.refresh_from_db()
    assert (email.status, email.final_payload) == ("pending", None)


def test_a_bad_discount_edit_is_refused(manager_api, propose):
    action = propose(
        action_type="discount_offer", amount=Decimal("90000"), payload={"discount_pct": 10}
    )

    response = manager_api.post(
        _decision_url(action),
        {"decision": "approve", "payload": {"discount_pct": 140}},
        format="json",
    )

    assert response.status_code == 400
    assert "between 0 and 100" in json.dumps(response.json())


def test_the_webhook_carries_the_final_payload(email, manager, django_capture_on_commit_callbacks):
    from apps.approvals.models import ApprovalSettings

    ApprovalSettings.objects.update(webhook_url="https://8.8.8.8/hook", webhook_secret="k" * 43)
    edited = {**email.payload, "subject": "Your proposal (revised)"}
    with django_capture_on_commit_callbacks(execute=False):
        action_decide(action_id=email.pk, user=manager, decision="approve", payload=edited)

    body = json.loads(WebhookDelivery.objects.get(action=email).body)
    assert body["action"]["final_payload"]["subject"] == "Your proposal (revised)"
    assert body["action"]["edited"] is True


def test_the_edit_is_kept_as_a_correction_of_the_agent(email, manager, agent_api):
    edited = {**email.payload, "subject": "Better subject"}
    action_decide(action_id=email.pk, user=manager, decision="approve", payload=edited)

    assert list(action_corrections()) == [ProposedAction.objects.get(pk=email.pk)]
    event = ActionEvent.objects.get(action=email, kind="approved")
    assert event.changes == [
        {"field": "subject", "before": "Your proposal", "after": "Better subject"}
    ]


def test_another_organisations_key_cannot_edit_our_action(
    api_client, org, other_org, in_org, email
):
    from apps.users.services import api_key_create
    from tests.factories.users import UserFactory

    with in_org(other_org):
        other_key = api_key_create(name="olga", user=UserFactory(username="olga", role="manager"))[
            1
        ]
    response = api_client(other_key, host="globex.localhost").post(
        _decision_url(email), {"decision": "approve", "payload": {"subject": "x"}}, format="json"
    )

    assert response.status_code == 404
    with in_org(org):
        email.refresh_from_db()
    assert (email.status, email.final_payload) == ("pending", None)


# --- approve with edits: the page ------------------------------------------------------


def _edit_form(action, **fields):
    return {
        "decision": "approve",
        "edited": "1",
        **{f"field-{key}": value for key, value in fields.items()},
    }


@pytest.mark.parametrize("htmx", [True, False])
def test_editing_on_the_page_approves_the_edited_version_and_the_trail_shows_the_diff(
    page_client, manager, email, htmx
):
    client = page_client(manager)
    form = _edit_form(
        email, to="dana@example.com", subject="Your proposal", body="Hi Dana,\n\nNew text."
    )

    response = client.post(f"/approvals/{email.pk}/decide/", form, **(HTMX if htmx else {}))

    assert response.status_code == (200 if htmx else 302)
    email.refresh_from_db()
    assert email.edited and email.final_payload["body"] == "Hi Dana,\n\nNew text."
    html = client.get(f"/approvals/{email.pk}/").content.decode()
    assert "Edited before approving" in html
    assert "- The proposal is attached." in html and "+ New text." in html
    assert "What the agent will send (edited)" in html


def test_a_bad_edit_on_the_page_shows_the_error_and_keeps_the_typed_text(
    page_client, manager, email
):
    form = _edit_form(email, to="nobody", subject="Your proposal", body="Typed with care")

    response = page_client(manager).post(f"/approvals/{email.pk}/decide/", form, **HTMX)

    assert response.status_code == 400
    html = response.content.decode()
    assert "&#x27;nobody&#x27; is not an email address" in html
    assert "Typed with care" in html
    email.refresh_from_db()
    assert email.status == "pending"


def test_an_edited_execution_records_the_correction_on_the_outcome(email, manager):
    edited = {**email.payload, "subject": "Better subject"}
    action_decide(action_id=email.pk, user=manager, decision="approve", payload=edited)

    recorded = action_record_result(action_id=email.pk, reported_by="agent", confidence=0.7)

    correction = recorded.action.outcome.metadata["correction"]
    assert correction["final"]["subject"] == "Better subject"
    assert correction["proposed"]["subject"] == "Your proposal"
    feedback = FeedbackEntry.objects.get(outcome=recorded.action.outcome)
    assert (feedback.user, feedback.kind, feedback.rating) == (manager, "inline", 0)
    assert feedback.comment == "Approved with edits to: subject"


# --- history: filter on the payload (GIN index) ------------------------------------------


def test_the_history_filters_on_what_the_payload_contains(page_client, manager, propose):
    dana = propose(amount=Decimal("75000"), payload={"to": "dana@example.com", "subject": "A"})
    other = propose(amount=Decimal("75000"), payload={"to": "lee@example.com", "subject": "B"})
    for action in (dana, other):
        action_decide(action_id=action.pk, user=manager, decision="approve")
    client = page_client(manager)

    found = client.get("/approvals/history/", {"payload": "to=dana@example.com"})
    bad = client.get("/approvals/history/", {"payload": "no separator"})
    nul = client.get("/approvals/history/", {"payload": "to=\x00x"})

    assert [a.pk for a in found.context["page"].object_list] == [dana.pk]
    assert bad.status_code == 400 and "field=value" in bad.content.decode()
    assert nul.status_code == 400  # a NUL anywhere in a request is refused before any view


def test_an_edit_the_guardrails_would_block_is_refused(manager_api, propose):
    action = propose(
        action_type="discount_offer",
        amount=Decimal("90000"),
        discount_pct=Decimal("10"),
        payload={"discount_pct": 10, "terms": "10 % off"},
    )

    too_far = manager_api.post(
        _decision_url(action),
        {"decision": "approve", "payload": {"discount_pct": 35, "terms": "35 % off"}},
        format="json",
    )
    within = manager_api.post(
        _decision_url(action),
        {"decision": "approve", "payload": {"discount_pct": 15, "terms": "15 % off"}},
        format="json",
    )

    assert too_far.status_code == 400
    assert "hard-stop guardrail" in json.dumps(too_far.json())
    assert within.status_code == 200 and within.json()["final_payload"]["discount_pct"] == 15
