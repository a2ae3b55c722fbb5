"""Pending actions expire; the audit trail is append-only; autonomy suggestions."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.admin.sites import site
from django.db import DatabaseError, transaction
from django.test import RequestFactory
from django.utils import timezone

from apps.approvals.models import ActionEvent, ApprovalSettings, ProposedAction
from apps.approvals.selectors import autonomy_suggestions
from apps.approvals.services import DecisionConflict, action_decide
from apps.approvals.tasks import expire_approvals
from apps.outcomes.models import ActionType, OutcomeRecord
from tests.factories.approvals import PendingActionFactory


def _age(action, hours: float) -> None:
    ProposedAction.objects.filter(pk=action.pk).update(
        expires_at=timezone.now() - timedelta(hours=hours)
    )


def test_a_pending_action_expires_after_the_default_48_hours(pending):
    assert pending.expires_at - pending.proposed_at == timedelta(hours=48)


def test_the_org_timeout_decides_when_new_proposals_expire(propose):
    ApprovalSettings.objects.update(timeout_hours=4)

    action = propose(amount=Decimal("90000"))

    assert action.expires_at - action.proposed_at == timedelta(hours=4)


def test_the_expiry_job_expires_only_overdue_pending_actions(propose, manager):
    overdue = propose(amount=Decimal("90000"))
    fresh = propose(amount=Decimal("90000"))
    decided = propose(amount=Decimal("90000"))
    action_decide(action_id=decided.pk, user=manager, decision="approve")
    _age(overdue, 1)
    _age(decided, 1)

    assert expire_approvals() == "1 expired"
    assert expire_approvals() == "0 expired"  # safe to re-run

    statuses = dict(ProposedAction.objects.values_list("pk", "status"))
    assert statuses == {overdue.pk: "expired", fresh.pk: "pending", decided.pk: "approved"}
    event = ActionEvent.objects.get(action=overdue, kind="expired")
    assert (event.actor_label, event.via) == ("system", "expiry")


def test_an_expired_action_can_no_longer_be_approved(pending, manager):
    _age(pending, 1)
    expire_approvals()

    with pytest.raises(DecisionConflict, match="Expired on .* it can no longer be approved"):
        action_decide(action_id=pending.pk, user=manager, decision="approve")


def test_an_overdue_action_the_job_has_not_reached_yet_cannot_be_approved_either(pending, manager):
    _age(pending, 0.01)

    with pytest.raises(DecisionConflict, match="Expired"):
        action_decide(action_id=pending.pk, user=manager, decision="approve")

    pending.refresh_from_db()
    assert pending.status == "expired"


def test_the_expiry_job_is_registered_for_the_scheduler():
    from apps.tenancy.periodic import load_jobs

    job = load_jobs()["expire_approvals"]
    assert job.every == timedelta(minutes=15)


# --- audit trail -------------------------------------------------------------------------


def test_the_trail_records_who_proposed_which_rules_fired_and_who_decided(pending, manager):
    action_decide(
        action_id=pending.pk, user=manager, decision="reject", reason="Not yet", ip="10.1.2.3"
    )

    proposed, rejected = ActionEvent.objects.filter(action=pending).order_by("created_at", "pk")

    assert (proposed.kind, proposed.actor_label) == ("proposed", "agent:test")
    assert [rule["name"] for rule in proposed.rules] == ["Amounts from 50,000"]
    assert (rejected.kind, rejected.actor, rejected.reason) == ("rejected", manager, "Not yet")
    assert rejected.ip_address == "10.1.2.3"
    assert rejected.created_at is not None


def test_the_database_refuses_to_change_an_audit_event(pending):
    event = ActionEvent.objects.get(action=pending)

    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        ActionEvent.objects.filter(pk=event.pk).update(reason="rewritten history")

    event.refresh_from_db()
    assert event.reason != "rewritten history"


@pytest.mark.parametrize("model", [ActionEvent, ProposedAction])
def test_the_admin_shows_the_trail_read_only(admin_user, model):
    request = RequestFactory().get("/admin/")
    request.user = admin_user
    model_admin = site._registry[model]

    assert model_admin.has_view_permission(request)
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request)
    assert not model_admin.has_delete_permission(request)


def test_admin_pages_for_approvals_open(page_client, admin_user, pending):
    client = page_client(admin_user)
    for path in [
        "/admin/approvals/proposedaction/",
        f"/admin/approvals/proposedaction/{pending.pk}/change/",
        "/admin/approvals/actionevent/",
        "/admin/approvals/guardrailrule/",
        "/admin/approvals/webhookdelivery/",
        "/admin/approvals/approvalsettings/",
    ]:
        assert client.get(path).status_code == 200, path


# --- autonomy suggestions ----------------------------------------------------------------


def _decided(account, manager, action_type: str, count: int, *, status: str, score: float | None):
    action_type_row = ActionType.objects.filter(code=action_type).first()
    now = timezone.now()
    for index in range(count):
        outcome = None
        if score is not None and action_type_row is not None and status != "rejected":
            outcome = OutcomeRecord.objects.create(
                external_id=f"o-{action_type}-{status}-{index}",
                action_type=action_type_row,
                account=account,
                predicted_confidence=0.7,
                occurred_at=now - timedelta(days=3),
                window_ends_at=now - timedelta(days=2),
                status="resolved",
                score=score,
                resolved_at=now - timedelta(days=2),
            )
        PendingActionFactory(
            account=account,
            action_type=action_type,
            status=status,
            decided_by=manager,
            decided_at=now,
            decision_reason="no" if status == "rejected" else "",
            outcome=outcome,
        )


def test_types_nearly_always_approved_with_good_outcomes_are_suggested_for_autonomy(
    account, manager
):
    _decided(account, manager, "email_sent", 58, status="executed", score=1.0)
    _decided(account, manager, "email_sent", 2, status="rejected", score=None)
    _decided(account, manager, "meeting_request", 30, status="executed", score=1.0)  # too few

    suggestions = autonomy_suggestions()

    assert [(s.action_type, s.verdict) for s in suggestions] == [
        ("email_sent", "suggest_autonomous")
    ]
    assert suggestions[0].decisions == 60
    assert suggestions[0].approval_rate == pytest.approx(58 / 60)


def test_types_with_poor_outcomes_after_approval_are_flagged(account, manager):
    _decided(account, manager, "escalation", 12, status="executed", score=0.0)

    suggestions = autonomy_suggestions()

    assert [(s.action_type, s.verdict) for s in suggestions] == [("escalation", "poor_outcomes")]


def test_a_type_approved_often_but_with_poor_outcomes_is_not_suggested(account, manager):
    _decided(account, manager, "email_sent", 60, status="executed", score=0.1)

    assert [s.verdict for s in autonomy_suggestions()] == ["poor_outcomes"]


def test_the_queue_shows_the_suggestions(page_client, manager, account):
    _decided(account, manager, "email_sent", 55, status="executed", score=1.0)

    html = page_client(manager).get("/approvals/").content.decode()

    assert "Autonomy suggestions" in html and "Could be autonomous" in html


def test_a_decision_and_its_event_are_written_together_or_not_at_all(org, manager):
    """One statement updates the action and adds its event: an event that cannot be
    written leaves the action undecided; an action that is not pending gets no event."""
    from django.db import IntegrityError

    from apps.approvals.services import _decide_pending

    action = PendingActionFactory()
    now = timezone.now()
    written = {"status": "approved", "decided_by": manager, "decided_at": now}
    bad_event = ActionEvent(kind="nokind", actor=manager, actor_label="maria", created_at=now)
    with pytest.raises(IntegrityError), transaction.atomic():
        _decide_pending(action.pk, written, bad_event, now=now)
    action.refresh_from_db()
    assert action.status == "pending" and action.decided_by is None
    event = ActionEvent(kind="approved", actor=manager, actor_label="maria", created_at=now)
    assert _decide_pending(action.pk, written, event, now=now) == (True, [])
    assert _decide_pending(action.pk, written, event, now=now) == (False, [])
    assert list(ActionEvent.objects.filter(action=action).values_list("kind", "actor")) == [
        ("approved", manager.pk)
    ]
    # Past its expiry, a pending action is not decided either.
    expired = PendingActionFactory(expires_at=now)
    assert _decide_pending(expired.pk, written, event, now=now) == (False, [])
    expired.refresh_from_db()
    assert expired.status == "pending" and not ActionEvent.objects.filter(action=expired).exists()
    action.refresh_from_db()
    assert (action.status, action.decided_by, action.decided_at) == ("approved", manager, now)
