"""Writes for approvals: propose, decide (once), expire, report results, deliver webhooks.

A decision is a conditional ``UPDATE … WHERE status = 'pending' AND expires_at > now``:
PostgreSQL makes a second, concurrent decision wait for the first and then find the row
no longer pending, so exactly one decision wins and the other gets ``DecisionConflict``
naming the winner. Every step appends to the audit trail (``ActionEvent``) in the same
transaction; webhooks are queued after commit.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Iterable
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connections, router, transaction
from django.utils import timezone

from apps.agents.models import Clone
from apps.approvals.guardrails import Proposal, classify, risk_score
from apps.approvals.models import (
    ActionEvent,
    ActionStatus,
    ApprovalDelegation,
    ApprovalSettings,
    Category,
    DeliveryStatus,
    EventKind,
    ProposedAction,
    WebhookDelivery,
)
from apps.approvals.rendering import clean_edited_payload, example_text, payload_changes
from apps.approvals.selectors import (
    action_by_id,
    action_public_data,
    approval_settings_get,
    webhook_url_get,
)
from apps.crm.models import Account, Deal
from apps.feedback.models import FeedbackKind
from apps.feedback.services import feedback_rate
from apps.outcomes.models import ActionType
from apps.outcomes.selectors import calibrated_confidence
from apps.outcomes.services import outcome_record
from apps.reviews.services import (
    correction_from_action_edit,
    correction_from_action_edit_attach,
    corrections_from_action_edits_withdraw,
)
from apps.tenancy.outbound import OutboundRefused, post_json
from apps.users.models import ApiKey, User
from apps.users.services import api_key_delegated_by
from apps.web.compiled import CompiledGet

MAX_REASON = 2000
WEBHOOK_TIMEOUT_SECONDS = 5
SIGNATURE_HEADER = "X-LearningLoop-Signature"
TIMESTAMP_HEADER = "X-LearningLoop-Timestamp"
WEBHOOK_SECRET_BYTES = 32
WEBHOOK_ROTATION_OVERLAP_HOURS = 24
GUARDRAILS = "guardrails"
# A decision made in the browser can be undone this long; the agent sees it only after.
UNDO_WINDOW = timedelta(seconds=10)


class DecisionConflict(Exception):
    """The action is no longer pending: someone (or something) decided it first."""

    def __init__(self, action: ProposedAction):
        self.action = action
        super().__init__(conflict_message(action))


class ResultConflict(Exception):
    """A result was reported for an action that may not be executed (or already was)."""


def _when(moment: datetime | None) -> str:
    return timezone.localtime(moment).strftime("%d %b %Y %H:%M %Z") if moment else "an unknown time"


def _person(user: User | None) -> str:
    if user is None:
        return "someone"
    return user.get_full_name() or user.username


def conflict_message(action: ProposedAction) -> str:
    """Who decided this action first, and how — for a 409 or a message on the page."""
    status = action.status
    if status == ActionStatus.EXECUTED:
        status = ActionStatus.APPROVED
    if status in (ActionStatus.APPROVED, ActionStatus.REJECTED):
        if action.decided_by_id is None:
            return (
                f"Already approved automatically by the guardrails on {_when(action.decided_at)}."
            )
        verb = "approved" if status == ActionStatus.APPROVED else "rejected"
        text = f"Already {verb} by {_person(action.decided_by)} on {_when(action.decided_at)}"
        if action.decision_reason:
            text += f" (reason: {action.decision_reason})"
        return text + "."
    if status == ActionStatus.EXPIRED:
        return (
            f"Expired on {_when(action.decided_at)} without a decision; "
            "it can no longer be approved."
        )
    if status == ActionStatus.BLOCKED:
        return "Blocked by a hard-stop guardrail; it can never be approved."
    return "This action is not waiting for a decision."


def _events_record(
    action_ids: Iterable[int],
    kind: str,
    *,
    at: datetime,
    actor: User | None = None,
    actor_label: str = "",
    via: str = "",
    reason: str = "",
    rules: list | None = None,
    ip: str | None = None,
    changes: list | None = None,
    key_created_by: str = "",
) -> None:
    """Add one event of ``kind`` to each action's history, in one insert."""
    ActionEvent.objects.bulk_create(
        ActionEvent(
            action_id=action_id,
            kind=kind,
            actor=actor,
            actor_label=actor_label or (actor.username if actor else GUARDRAILS),
            via=via,
            reason=reason,
            rules=rules or [],
            changes=changes or [],
            ip_address=ip or None,
            key_created_by=key_created_by,
            created_at=at,
        )
        for action_id in action_ids
    )


def _agent_event(
    action: ProposedAction,
    kind: str,
    *,
    by: str,
    at: datetime,
    ip: str | None,
    reason: str,
    rules: list | None = None,
) -> None:
    """An event the agent ``by`` caused through the API (a proposal, a result)."""
    _events_record(
        [action.pk], kind, at=at, actor_label=by, via="api", reason=reason, rules=rules, ip=ip
    )


def _decide_pending(
    action_id: int,
    written: dict,
    event: ActionEvent,
    *,
    now: datetime,
    then: tuple[str, list] | None = None,
) -> tuple[bool, list]:
    """Apply ``written`` to action ``action_id`` if it is pending and not expired at ``now``,
    and add ``event`` to its history, in one statement (``WITH won AS (UPDATE … RETURNING
    id) INSERT …``): both or neither, without a transaction of their own. Returns (whether
    the action was decided, the rows of ``then``): ``then``, a query and its parameters,
    runs in the same statement and sees the tables as they were before it (one snapshot).

    The SQL is built once per shape (``_decision_sql``), not compiled by the ORM each time
    (a third of the CPU time of a decision), and prepared once per connection."""
    alias = router.db_for_write(ProposedAction)
    connection = connections[alias]
    then_sql, then_params = then or ("SELECT", [])  # no columns: a row of nothing
    sql, columns, event_fields = _decision_sql(tuple(written), then_sql, alias)
    values = [
        field.get_db_prep_save(
            getattr(value, "pk", value) if field.is_relation else value, connection
        )
        for field, value in zip(columns, written.values(), strict=True)
    ]
    event_values = [f.get_db_prep_save(getattr(event, f.attname), connection) for f in event_fields]
    with connection.prepared_cursor() as cursor:
        cursor.execute(
            sql, [*values, action_id, ActionStatus.PENDING, now, *event_values, *then_params]
        )
        rows = cursor.fetchall()
    won = bool(rows) and rows[0][0] == 1
    return won, [row[1:] for row in rows] if then else []


@functools.cache
def _decision_sql(names: tuple[str, ...], then_sql: str, alias: str) -> tuple[str, list, list]:
    """The SQL of ``_decide_pending`` writing fields ``names``, with the fields of its
    parameters: (sql, the fields written, the event's fields)."""
    connection = connections[alias]
    quote = connection.ops.quote_name
    meta = ProposedAction._meta
    columns = [meta.get_field(name) for name in names]
    event_fields = [f for f in ActionEvent._meta.concrete_fields if f.name not in ("id", "action")]
    pk, status, expires = (quote(meta.get_field(n).column) for n in ("id", "status", "expires_at"))
    sql = (
        f"WITH won AS (UPDATE {quote(meta.db_table)} SET "
        + ", ".join(f"{quote(field.column)} = %s" for field in columns)
        + f" WHERE {pk} = %s AND {status} = %s AND {expires} > %s RETURNING {pk}), "
        f"event AS (INSERT INTO {quote(ActionEvent._meta.db_table)} "
        f"({quote(ActionEvent._meta.get_field('action').column)}, "
        f"{', '.join(quote(f.column) for f in event_fields)}) "
        f"SELECT {pk}, {connection.ops.cast_placeholders(event_fields)} FROM won) "
        f"SELECT (SELECT count(*) FROM won), then_.* FROM ({then_sql}) AS then_"
    )
    return sql, columns, event_fields


# --- proposing ---------------------------------------------------------------------------


def _calibrated(action_type: str, confidence: float | None) -> float | None:
    if confidence is None:
        return None
    return calibrated_confidence(action_type_code=action_type, confidence=confidence)


def action_propose(
    *,
    external_id: str,
    action_type: str,
    account: Account,
    proposed_by: str,
    payload: dict | None = None,
    rationale: str = "",
    deal: Deal | None = None,
    clone: Clone | None = None,
    amount: Decimal | None = None,
    discount_pct: Decimal | None = None,
    confidence: float | None = None,
    ip: str | None = None,
) -> tuple[ProposedAction, bool]:
    """Classify and store a proposal. Idempotent on ``external_id``: (action, created)."""
    existing = ProposedAction.objects.filter(external_id=external_id).first()
    if existing is not None:
        return existing, False
    if deal is not None and deal.account_id != account.pk:
        raise ValidationError({"deal": "This deal belongs to another account."})
    now = timezone.now()
    action = ProposedAction(
        external_id=external_id,
        action_type=action_type,
        account=account,
        deal=deal,
        clone=clone,
        payload=payload or {},
        rationale=rationale,
        amount=amount,
        discount_pct=discount_pct,
        confidence=confidence,
        calibrated_confidence=_calibrated(action_type, confidence),
        proposed_by=proposed_by,
        proposed_at=now,
    )
    proposal = Proposal.of(action)
    classification = classify(proposal)
    action.category = classification.category
    action.status = {
        Category.AUTONOMOUS: ActionStatus.APPROVED,
        Category.APPROVAL_REQUIRED: ActionStatus.PENDING,
        Category.HARD_STOP: ActionStatus.BLOCKED,
    }[action.category]
    action.reasons = classification.reasons
    action.risk = risk_score(proposal, classification)
    if action.status == ActionStatus.PENDING:
        action.expires_at = now + approval_settings_get().timeout
    if action.status == ActionStatus.APPROVED:
        action.decided_at = now
    try:
        with transaction.atomic():
            action.save()
            _agent_event(
                action,
                EventKind.PROPOSED,
                by=proposed_by,
                at=now,
                ip=ip,
                reason=f"Classified {Category(action.category).label.lower()}",
                rules=[rule.as_dict() for rule in classification.fired],
            )
    except IntegrityError:
        # The same external id was proposed at the same moment by another request.
        existing = ProposedAction.objects.filter(external_id=external_id).first()
        if existing is None:
            raise
        return existing, False
    return action, True


# --- deciding ----------------------------------------------------------------------------


def _check_decision(decision: str, reason: str) -> str:
    reason = (reason or "").strip()
    if decision not in ("approve", "reject"):
        raise ValidationError({"decision": "Choose 'approve' or 'reject'."})
    if decision == "reject" and not reason:
        raise ValidationError({"reason": "Say why you reject it: the agent learns from it."})
    if len(reason) > MAX_REASON:
        raise ValidationError({"reason": f"Keep the reason under {MAX_REASON} characters."})
    return reason


def _edited_version(action_id: int, decision: str, payload: object) -> tuple[dict | None, list]:
    """The approver's edited payload (checked per action type) and what changed, or (None, [])."""
    if payload is None:
        return None, []
    if decision != "approve":
        raise ValidationError({"payload": "Only an approval can carry an edited payload."})
    action = ProposedAction.objects.select_related("account", "deal").get(pk=action_id)
    cleaned = clean_edited_payload(action.action_type, action.payload, payload)
    changes = payload_changes(action.payload, cleaned)
    if not changes:
        return None, []
    # An approver may not edit an action into one the guardrails would never allow.
    edited_discount = cleaned.get("discount_pct", action.discount_pct)
    classification = classify(
        Proposal.of(
            action,
            discount_pct=Decimal(str(edited_discount))
            if edited_discount not in (None, "")
            else None,
            payload=cleaned,
        )
    )
    if classification.category == Category.HARD_STOP:
        raise ValidationError(
            {
                "payload": "The edited version would be blocked by a hard-stop guardrail: "
                + " ".join(classification.reasons)
            }
        )
    return cleaned, changes


def _edit_correction(action_id: int, final_payload: dict, user: User) -> None:
    """An approval with edits is a correction of the agent's output: recorded in reviews
    (the organisation's one example set) in the decision's transaction."""
    action = ProposedAction.objects.only("external_id", "action_type", "clone", "payload").get(
        pk=action_id
    )
    correction_from_action_edit(
        action_ref=action.external_id,
        action_type=action.action_type,
        clone_id=action.clone_id,
        author=user,
        original=example_text(action.action_type, action.payload),
        corrected=example_text(action.action_type, final_payload),
    )


def action_decide(
    *,
    action_id: int,
    user: User,
    decision: str,
    reason: str = "",
    payload: dict | None = None,
    ip: str | None = None,
    via: str = "page",
    undoable: bool = False,
    api_key: ApiKey | None = None,
    action: ProposedAction | None = None,
    reading: CompiledGet = action_by_id,
) -> ProposedAction:
    """Approve (as proposed, or with the approver's edits) or reject a pending action, once.

    ``action``: the caller's copy of it, if it has read one; when the decision is made, the
    fields written are set on it and it is returned. Without it, the statement that decides
    also reads the action to return it: by ``reading`` (with its related rows; a caller that
    shows less reads less, ``action_summary_by_id``).

    ``undoable`` (browser decisions): the decider may undo it for ``UNDO_WINDOW``; the
    agent's poll and webhook see it only once that window has passed.

    With ``payload`` an approval carries the edited version: it is checked per action type,
    stored as ``final_payload`` (``edited``), and the audit trail keeps the changes, which
    are also the correction the learning loop reads (``selectors.action_corrections``).
    Raises ``ProposedAction.DoesNotExist`` for an unknown id, ``ValidationError`` for bad
    input and ``DecisionConflict`` if it is no longer pending (decided, expired, blocked).
    """
    reason = _check_decision(decision, reason)
    final_payload, changes = _edited_version(action_id, decision, payload)
    status = ActionStatus.APPROVED if decision == "approve" else ActionStatus.REJECTED
    now = timezone.now()
    alias = router.db_for_write(ProposedAction)
    # Without the caller's copy, the same statement reads the action (as it was before).
    read_back = None
    if action is None and not (read_back := reading.statement(action_id, using=alias)):
        raise ProposedAction.DoesNotExist(f"No action {action_id}.")
    # The decision and its event are one statement; a transaction when more goes with them.
    more_to_write = final_payload is not None or bool(webhook_url_get())
    with transaction.atomic() if more_to_write else nullcontext():
        written = {
            "status": status,
            "decided_by": user,
            "decided_at": now,
            "decision_reason": reason,
            "final_payload": final_payload,
            "edited": final_payload is not None,
            "visible_at": now + UNDO_WINDOW if undoable else now,
            "updated_at": now,
        }
        won, rows = _decide_pending(
            action_id,
            written,
            ActionEvent(
                kind=EventKind.APPROVED if decision == "approve" else EventKind.REJECTED,
                actor=user,
                actor_label=user.username,
                via=via,
                reason=reason,
                rules=[],
                changes=changes or [],
                ip_address=ip or None,
                key_created_by=api_key_delegated_by(api_key, acting_user=user),
                created_at=now,
            ),
            now=now,
            then=read_back,
        )
        if won:
            if final_payload is not None:
                _edit_correction(action_id, final_payload, user)
            _webhooks_enqueue(
                [action_id], event=f"action.{status}", delay=UNDO_WINDOW if undoable else None
            )
    if won:
        action = action or reading.record(rows, using=alias)
        for name, value in written.items():
            setattr(action, name, value)
        return action
    action = ProposedAction.objects.select_related("decided_by", "account").get(pk=action_id)
    if action.status == ActionStatus.PENDING:
        # Past its expiry but the periodic job has not run yet: expire it now.
        actions_expire(only_ids=[action_id])
        action.refresh_from_db()
    raise DecisionConflict(action)


@dataclass(frozen=True)
class BulkResult:
    decided: list[int]
    skipped: int


def actions_bulk_approve(
    *, action_ids: list[int], user: User, reason: str = "", ip: str | None = None
) -> BulkResult:
    """Approve many pending actions at once; ones decided meanwhile are skipped, not fought over."""
    reason = _check_decision("approve", reason)
    wanted = sorted(set(action_ids))
    with transaction.atomic():
        now = timezone.now()
        ids = list(
            ProposedAction.objects.select_for_update(skip_locked=True)
            .filter(pk__in=wanted, status=ActionStatus.PENDING, expires_at__gt=now)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        ProposedAction.objects.filter(pk__in=ids).update(
            status=ActionStatus.APPROVED,
            decided_by=user,
            decided_at=now,
            decision_reason=reason,
            visible_at=now + UNDO_WINDOW,
            updated_at=now,
        )
        _events_record(
            ids, EventKind.APPROVED, at=now, actor=user, via="bulk", reason=reason, ip=ip
        )
        _webhooks_enqueue(ids, event="action.approved", delay=UNDO_WINDOW)
    return BulkResult(decided=ids, skipped=len(wanted) - len(ids))


def actions_undo(*, action_ids: list[int], user: User, ip: str | None = None) -> list[int]:
    """Take back the user's own decisions still inside the undo window: pending again.

    One conditional UPDATE, so an undo after the window (when the agent may already have
    seen the decision) changes nothing. Their queued webhook deliveries are cancelled.
    """
    with transaction.atomic():
        now = timezone.now()
        ids = list(
            ProposedAction.objects.filter(
                pk__in=action_ids,
                decided_by=user,
                status__in=[ActionStatus.APPROVED, ActionStatus.REJECTED],
                visible_at__gt=now,
            )
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        if not ids:
            return []
        ProposedAction.objects.filter(pk__in=ids).update(
            status=ActionStatus.PENDING,
            decided_by=None,
            decided_at=None,
            decision_reason="",
            final_payload=None,
            edited=False,
            visible_at=None,
            updated_at=now,
        )
        _events_record(ids, EventKind.UNDONE, at=now, actor=user, via="page", ip=ip)
        corrections_from_action_edits_withdraw(
            action_refs=ProposedAction.objects.filter(pk__in=ids).values_list(
                "external_id", flat=True
            )
        )
        WebhookDelivery.objects.filter(action_id__in=ids, status=DeliveryStatus.PENDING).update(
            status=DeliveryStatus.CANCELLED
        )
    return ids


def actions_expire(*, only_ids: list[int] | None = None) -> int:
    """Expire every pending action past its expiry (set-based). Returns how many."""
    with transaction.atomic():
        now = timezone.now()
        due = ProposedAction.objects.select_for_update(skip_locked=True).filter(
            status=ActionStatus.PENDING, expires_at__lte=now
        )
        if only_ids is not None:
            due = due.filter(pk__in=only_ids)
        ids = list(due.values_list("pk", flat=True))
        if not ids:
            return 0
        ProposedAction.objects.filter(pk__in=ids).update(
            status=ActionStatus.EXPIRED, decided_at=now, updated_at=now
        )
        _events_record(
            ids,
            EventKind.EXPIRED,
            at=now,
            actor_label="system",
            via="expiry",
            reason="No decision before the approval timeout.",
        )
        _webhooks_enqueue(ids, event="action.expired")
    return len(ids)


# --- delegation --------------------------------------------------------------------------

MAX_DELEGATION_DAYS = 92


def delegation_set(
    *, user: User, delegate_username: str, starts_on: date | None, ends_on: date | None
) -> ApprovalDelegation:
    """Name a stand-in for a date range (out of office): they get the notifications and
    may decide. Validates the dates and the person; raises ``ValidationError`` by field."""
    errors: dict[str, str] = {}
    delegate = (
        User.objects.filter(
            username=(delegate_username or "").replace("\0", "").strip()[:150], is_active=True
        )
        .exclude(pk=user.pk)
        .first()
    )
    if delegate is None:
        errors["delegate"] = "Choose an active colleague other than yourself."
    if starts_on is None:
        errors["starts_on"] = "Use a date like 2026-01-31."
    if ends_on is None:
        errors["ends_on"] = "Use a date like 2026-01-31."
    if starts_on and ends_on:
        if ends_on < starts_on:
            errors["ends_on"] = "The last day must be on or after the first."
        elif ends_on < timezone.localdate():
            errors["ends_on"] = "The last day is already past."
        elif (ends_on - starts_on).days >= MAX_DELEGATION_DAYS:
            errors["ends_on"] = f"Delegate for at most {MAX_DELEGATION_DAYS} days at a time."
    if errors:
        raise ValidationError(errors)
    return ApprovalDelegation.objects.create(
        user=user, delegate=delegate, starts_on=starts_on, ends_on=ends_on
    )


def delegation_remove(*, user: User, delegation_id: int) -> bool:
    """Remove one of the user's own delegations. False when there is none with that id."""
    deleted, _ = ApprovalDelegation.objects.filter(pk=delegation_id, user=user).delete()
    return bool(deleted)


# --- results -----------------------------------------------------------------------------


def _correction_feedback(action: ProposedAction, outcome) -> None:
    """An approver's edit is feedback on the agent's output: a neutral inline rating by
    the approver naming what they corrected (the full before/after is in the outcome's
    ``metadata["correction"]``), so learning extraction sees consistent corrections."""
    fields = [change["field"] for change in payload_changes(action.payload, action.to_execute)]
    feedback_rate(
        user=action.decided_by,
        outcome=outcome,
        kind=FeedbackKind.INLINE,
        rating=0,
        comment=("Approved with edits to: " + ", ".join(fields))[:2000],
    )


@dataclass(frozen=True)
class ResultRecorded:
    action: ProposedAction
    outcome_note: str


def action_record_result(
    *,
    action_id: int,
    reported_by: str,
    success: bool = True,
    executed_at: datetime | None = None,
    output_text: str = "",
    details: dict | None = None,
    confidence: float | None = None,
    ip: str | None = None,
) -> ResultRecorded:
    """Record what happened when the agent carried out an approved action.

    Only an approved action can be executed, once. A successful execution becomes an
    OutcomeRecord (external id ``action:<external_id>``) when the action type is defined
    in this organisation and a confidence is known, so it feeds the learning loop; when
    not, the result is kept and ``outcome_note`` says why no outcome was created.
    """
    now = timezone.now()
    executed_at = executed_at or now
    with transaction.atomic():
        action = (
            ProposedAction.objects.select_for_update(of=("self",))
            .select_related("account", "deal", "clone", "decided_by")
            .get(pk=action_id)
        )
        if action.status != ActionStatus.APPROVED:
            if action.status == ActionStatus.EXECUTED:
                raise ResultConflict(
                    f"A result was already reported on {_when(action.executed_at)}."
                )
            if action.status == ActionStatus.PENDING:
                raise ResultConflict("This action is still waiting for a decision.")
            raise ResultConflict(
                f"This action is {action.status}; it may not be executed. "
                + conflict_message(action)
            )
        outcome_note = ""
        confidence = confidence if confidence is not None else action.confidence
        action_type = ActionType.objects.filter(code=action.action_type).first()
        if not success:
            outcome_note = "Execution failed, so no outcome is tracked."
        elif action_type is None:
            outcome_note = (
                f"Action type '{action.action_type}' is not defined in this organisation; "
                "an admin can add it to track such outcomes."
            )
        elif confidence is None:
            outcome_note = "No confidence was given, so no outcome is tracked."
        else:
            outcome, _ = outcome_record(
                external_id=f"action:{action.external_id}",
                action_type=action_type,
                account=action.account,
                deal=action.deal,
                clone=action.clone,
                predicted_confidence=confidence,
                occurred_at=executed_at,
                output_text=output_text,
                metadata={
                    "proposed_action": action.pk,
                    "details": details or {},
                    # An approver's edit is a correction of the agent's output.
                    **(
                        {"correction": {"proposed": action.payload, "final": action.final_payload}}
                        if action.edited
                        else {}
                    ),
                },
            )
            action.outcome = outcome
            outcome_note = "Outcome recorded."
            if action.edited and action.decided_by_id:
                _correction_feedback(action, outcome)
                correction_from_action_edit_attach(action_ref=action.external_id, outcome=outcome)
        action.status = ActionStatus.EXECUTED
        action.executed_at = executed_at
        action.result = {"success": success, "output_text": output_text, "details": details or {}}
        action.save(update_fields=["status", "executed_at", "result", "outcome", "updated_at"])
        reason = ("Succeeded. " if success else "Failed. ") + outcome_note
        _agent_event(action, EventKind.EXECUTED, by=reported_by, at=now, ip=ip, reason=reason)
    return ResultRecorded(action=action, outcome_note=outcome_note)


# --- webhooks ----------------------------------------------------------------------------


def _webhooks_enqueue(action_ids: list[int], *, event: str, delay: timedelta | None = None) -> None:
    """Create one delivery per action and send them after the transaction commits."""
    if not action_ids:
        return
    url = webhook_url_get()
    if not url:
        return
    actions = ProposedAction.objects.filter(pk__in=action_ids).select_related(
        "decided_by", "account", "deal", "clone"
    )
    sent_at = timezone.now().isoformat()
    deliveries = WebhookDelivery.objects.bulk_create(
        [
            WebhookDelivery(
                action=action,
                event=event,
                url=url,
                body=json.dumps(
                    {
                        "event": event,
                        "sent_at": sent_at,
                        "action": action_public_data(action, reveal=True),
                    },
                    sort_keys=True,
                    default=str,
                ),
            )
            for action in actions
        ]
    )
    delivery_ids = [delivery.pk for delivery in deliveries]

    def send() -> None:
        from apps.approvals.tasks import deliver_webhook

        for delivery_id in delivery_ids:
            deliver_webhook.apply_async(
                (delivery_id,), countdown=delay.total_seconds() if delay else None
            )

    transaction.on_commit(send)


def webhook_signature(secret: str, body: bytes, timestamp: int) -> str:
    """``sha256=<hex>``: HMAC-SHA256 of ``<timestamp>.<raw body>`` under the shared secret.

    Signing the timestamp lets a receiver reject a replayed delivery (an old timestamp).
    """
    signed = str(timestamp).encode() + b"." + body
    return "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def webhook_signatures(settings: ApprovalSettings, body: bytes, timestamp: int) -> str:
    """The signature header: the current secret's, then during a rotation's overlap the
    previous secret's too (``sha256=<new>, sha256=<old>``), so receivers switch at leisure."""
    secrets_in_use = [settings.webhook_secret]
    if (
        settings.webhook_previous_secret
        and settings.webhook_previous_secret_until
        and settings.webhook_previous_secret_until > timezone.now()
    ):
        secrets_in_use.append(settings.webhook_previous_secret)
    return ", ".join(webhook_signature(secret, body, timestamp) for secret in secrets_in_use)


def webhook_secret_new() -> str:
    """A fresh shared secret: 32 random bytes, URL-safe text (43 characters)."""
    return secrets.token_urlsafe(WEBHOOK_SECRET_BYTES)


def webhook_secret_ensure(settings: ApprovalSettings) -> str:
    """Give a settings row with a webhook but no secret a generated one (not saved here).

    Returns the new secret so the page can show it once, or "" when nothing changed. A
    blank secret never signs: deliveries to a webhook without a secret are refused.
    """
    if settings.webhook_url and not settings.webhook_secret:
        settings.webhook_secret = webhook_secret_new()
        return settings.webhook_secret
    return ""


def webhook_secret_rotate(*, overlap_hours: int = WEBHOOK_ROTATION_OVERLAP_HOURS) -> str:
    """Replace the secret; the old one keeps signing for ``overlap_hours``. Returns the new one
    (shown once to the admin, never stored anywhere else)."""
    with transaction.atomic():
        settings = ApprovalSettings.objects.select_for_update().get(pk=approval_settings_get().pk)
        new_secret = webhook_secret_new()
        if settings.webhook_secret:
            settings.webhook_previous_secret = settings.webhook_secret
            settings.webhook_previous_secret_until = timezone.now() + timedelta(hours=overlap_hours)
        settings.webhook_secret = new_secret
        settings.save(
            update_fields=[
                "webhook_secret",
                "webhook_previous_secret",
                "webhook_previous_secret_until",
                "updated_at",
            ]
        )
    return new_secret


def webhook_attempt(*, delivery_id: int) -> bool | None:
    """POST one delivery once and log the attempt. True when the receiver answered 2xx.

    None (nothing sent) while the decision is inside its undo window: the agent hears of
    a browser decision only once it can no longer be undone.

    The target is checked again after DNS resolution and contacted at the checked address
    (``apps.tenancy.outbound``); a refusal, a redirect or an error is logged in our own
    words: nothing the target answered is echoed into the log.
    """
    delivery = WebhookDelivery.objects.get(pk=delivery_id)
    if delivery.status in (DeliveryStatus.DELIVERED, DeliveryStatus.CANCELLED):
        return True  # nothing (more) to send: delivered, or the decision was undone
    visible_at = (
        ProposedAction.objects.filter(pk=delivery.action_id)
        .values_list("visible_at", flat=True)
        .first()
    )
    if visible_at is not None and visible_at > timezone.now():
        return None
    settings = approval_settings_get()
    body = delivery.body.encode()
    timestamp = int(time.time())
    status_code, error = None, ""
    if not settings.webhook_secret:
        error = "Refused: the webhook has no secret; an admin must rotate it to create one."
    else:
        try:
            response = post_json(
                delivery.url,
                body,
                {
                    "User-Agent": "LearningLoop-Webhook/1",
                    "X-LearningLoop-Event": delivery.event,
                    "X-LearningLoop-Delivery": str(delivery.pk),
                    TIMESTAMP_HEADER: str(timestamp),
                    SIGNATURE_HEADER: webhook_signatures(settings, body, timestamp),
                },
                timeout=WEBHOOK_TIMEOUT_SECONDS,
            )
            status_code = response.status_code
            if response.redirect:
                error = f"HTTP {status_code}: redirects are not followed"
            elif not response.ok:
                error = f"HTTP {status_code}"
        except OutboundRefused as refused:
            error = str(refused)[:500]
        except OSError as failure:
            error = f"Connection failed: {type(failure).__name__}"
    now = timezone.now()
    delivered = status_code is not None and 200 <= status_code < 300
    delivery.attempts += 1
    delivery.attempt_log = [
        *delivery.attempt_log,
        {"at": now.isoformat(), "status_code": status_code, "error": error},
    ]
    delivery.last_status_code = status_code
    delivery.last_error = error
    if delivered:
        delivery.status, delivery.delivered_at = DeliveryStatus.DELIVERED, now
    delivery.save(
        update_fields=[
            "attempts",
            "attempt_log",
            "last_status_code",
            "last_error",
            "status",
            "delivered_at",
        ]
    )
    return delivered


def webhooks_retry(*, delivery_ids: list[int]) -> int:
    """Send failed deliveries again (an admin action), to the webhook URL set now.

    Back to pending and queued after commit; an admin who fixed the URL retries there.
    """
    url = approval_settings_get().webhook_url
    if not url:
        return 0
    with transaction.atomic():
        ids = list(
            WebhookDelivery.objects.filter(pk__in=delivery_ids, status=DeliveryStatus.FAILED)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        WebhookDelivery.objects.filter(pk__in=ids).update(status=DeliveryStatus.PENDING, url=url)

        def send() -> None:
            from apps.approvals.tasks import deliver_webhook

            for delivery_id in ids:
                deliver_webhook.delay(delivery_id)

        transaction.on_commit(send)
    return len(ids)


def webhook_give_up(*, delivery_id: int) -> None:
    WebhookDelivery.objects.filter(pk=delivery_id, status=DeliveryStatus.PENDING).update(
        status=DeliveryStatus.FAILED
    )
