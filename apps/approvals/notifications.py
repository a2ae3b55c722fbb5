"""Reaching approvers where they are: batched emails with decision links, chat, escalation.

``approvers_notify`` (the ``notify_approvers`` job, every 5 minutes) records who must be
told about what in one ``INSERT … SELECT … ON CONFLICT DO NOTHING`` per notice kind, so
re-running it never tells anyone twice, then sends one email per recipient listing every
action they have not heard about:

- new: every pending action, to every approver (and the delegates of approvers who are out);
- reminder: 4 h before expiry, to the same people;
- escalation: 2 h before expiry, to the organisation's admins and the account owner's manager.

A recipient gets at most one email of a kind per 5 minutes; what arrives meanwhile waits
for the next run. Each action in an email has Approve and Reject links, signed over the
notice (so bound to that recipient and that action, and to this organisation's schema);
opening one shows a confirmation page, and only submitting it decides (``decide_by_link``).
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import connection, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from apps.approvals.models import (
    ActionStatus,
    ApprovalDelegation,
    ApprovalNotice,
    NoticeKind,
    ProposedAction,
)
from apps.approvals.rendering import render_action
from apps.approvals.selectors import approval_settings_get
from apps.crm.models import Account
from apps.feedback.email_links import rating_links
from apps.tenancy.current import site_url
from apps.tenancy.money import current_currency
from apps.tenancy.outbound import OutboundRefused, post_json
from apps.tenancy.signed_links import LinkInvalid, LinkStale, link_read, link_sign
from apps.users.models import User
from apps.users.roles import AGENT, CAPABILITIES, Role

BATCH_WINDOW = timedelta(minutes=5)
REMIND_BEFORE = timedelta(hours=4)
ESCALATE_BEFORE = timedelta(hours=2)
DECISIONS = ("approve", "reject")


def approver_roles() -> list[str]:
    """Roles whose people decide on actions (from the one capability table)."""
    return [
        role for role, caps in CAPABILITIES.items() if role != AGENT and "actions.decide" in caps
    ]


def may_decide(user: User, *, today: date | None = None) -> bool:
    """An active approver, or the delegate today of an active approver."""
    if user is None or not user.is_active:
        return False
    if user.role in approver_roles():
        return True
    today = today or timezone.localdate()
    return ApprovalDelegation.objects.filter(
        delegate=user,
        starts_on__lte=today,
        ends_on__gte=today,
        user__is_active=True,
        user__role__in=approver_roles(),
    ).exists()


# --- who must be told: one statement per kind --------------------------------------------

_APPROVERS = """
    SELECT u.id AS recipient_id, NULL::bigint AS on_behalf_of_id, NULL::bigint AS only_action
      FROM {user} u
     WHERE u.is_active AND u.role = ANY(%(approver_roles)s) AND u.email <> ''
    UNION ALL
    SELECT d.delegate_id, d.user_id, NULL::bigint
      FROM {delegation} d
      JOIN {user} owner ON owner.id = d.user_id
      JOIN {user} stand_in ON stand_in.id = d.delegate_id
     WHERE owner.is_active AND owner.role = ANY(%(approver_roles)s)
       AND stand_in.is_active AND stand_in.email <> ''
       AND %(today)s BETWEEN d.starts_on AND d.ends_on
"""
_ESCALATION_CONTACTS = """
    SELECT u.id AS recipient_id, NULL::bigint AS on_behalf_of_id, NULL::bigint AS only_action
      FROM {user} u
     WHERE u.is_active AND u.role = %(admin_role)s AND u.email <> ''
    UNION ALL
    SELECT boss.id, NULL::bigint, a.id
      FROM {action} a
      JOIN {account} acc ON acc.id = a.account_id
      JOIN {user} rep ON rep.id = acc.owner_id
      JOIN {user} boss ON boss.id = rep.manager_id
     WHERE a.status = %(pending)s AND boss.is_active AND boss.email <> ''
"""
# Why SQL: inserting the (action, recipient) pairs with ON CONFLICT DO NOTHING RETURNING
# is what makes the job idempotent and tells it exactly which notices are new, in one
# statement whatever the number of actions and people.
_NOTIFY_SQL = """
    INSERT INTO {notice} (action_id, recipient_id, kind, on_behalf_of_id, created_at)
    SELECT a.id, r.recipient_id, %(kind)s, r.on_behalf_of_id, %(now)s
      FROM {action} a
      JOIN ({recipients}) r ON r.only_action IS NULL OR r.only_action = a.id
     WHERE a.status = %(pending)s
       AND a.expires_at > %(now)s
       AND a.expires_at <= %(due_before)s
       AND NOT EXISTS (
           SELECT 1 FROM {notice} recent
            WHERE recent.recipient_id = r.recipient_id AND recent.kind = %(kind)s
              AND recent.created_at > %(batch_start)s)
    ON CONFLICT (action_id, recipient_id, kind) DO NOTHING
    RETURNING id
"""


def _tables() -> dict[str, str]:
    return {
        "notice": ApprovalNotice._meta.db_table,
        "action": ProposedAction._meta.db_table,
        "user": User._meta.db_table,
        "delegation": ApprovalDelegation._meta.db_table,
        "account": Account._meta.db_table,
    }


def _record_notices(kind: str, *, now: datetime) -> list[int]:
    tables = _tables()
    recipients = (_ESCALATION_CONTACTS if kind == NoticeKind.ESCALATION else _APPROVERS).format(
        **tables
    )
    due_before = {
        NoticeKind.NEW: now + timedelta(days=3650),  # any pending action
        NoticeKind.REMINDER: now + REMIND_BEFORE,
        NoticeKind.ESCALATION: now + ESCALATE_BEFORE,
    }[kind]
    with connection.cursor() as cursor:
        cursor.execute(
            _NOTIFY_SQL.format(recipients=recipients, **tables),
            {
                "kind": kind,
                "now": now,
                "due_before": due_before,
                "batch_start": now - BATCH_WINDOW,
                "pending": ActionStatus.PENDING,
                "approver_roles": approver_roles(),
                "admin_role": Role.ADMIN,
                "today": timezone.localdate(now),
            },
        )
        return [row[0] for row in cursor.fetchall()]


# --- links -------------------------------------------------------------------------------


PURPOSE = "approvals.email-link"


def decision_token(notice_id: int, decision: str) -> str:
    return link_sign(PURPOSE, {"n": notice_id, "d": decision})


def read_token(token: str) -> tuple[int, str]:
    """(notice id, decision) from a link, or ``LinkInvalid`` / ``LinkStale``."""
    data = link_read(PURPOSE, token)
    if data.get("d") not in DECISIONS:
        raise LinkInvalid
    try:
        return int(data["n"]), data["d"]
    except (KeyError, TypeError, ValueError) as bad:
        raise LinkInvalid from bad


def link_for(notice_id: int, decision: str, *, base: str | None = None) -> str:
    token = decision_token(notice_id, decision)
    return (site_url() if base is None else base) + reverse(
        "approvals:email_decision", args=[token]
    )


# --- sending -----------------------------------------------------------------------------


@dataclass(frozen=True)
class NotifyResult:
    notices: int
    emails: int
    chat_posts: int


SUBJECTS = {
    NoticeKind.NEW: "{count} action{s} waiting for your approval",
    NoticeKind.REMINDER: "Reminder: {count} action{s} expire within 4 hours",
    NoticeKind.ESCALATION: "Escalation: {count} action{s} still undecided, expiring within 2 hours",
}


def _emails(notice_ids: list[int], kind: str) -> list[EmailMultiAlternatives]:
    notices = (
        ApprovalNotice.objects.filter(pk__in=notice_ids)
        .select_related("recipient", "on_behalf_of", "action__account", "action__deal")
        .order_by("recipient_id", "-action__risk", "action_id")
    )
    by_recipient: dict[int, list[ApprovalNotice]] = defaultdict(list)
    for notice in notices:
        by_recipient[notice.recipient_id].append(notice)
    base = site_url()
    currency = current_currency()
    messages = []
    for items in by_recipient.values():
        recipient = items[0].recipient
        entries = [
            {
                "notice": notice,
                "action": notice.action,
                "rendered": render_action(notice.action, currency=currency),
                "approve_url": link_for(notice.pk, "approve", base=base),
                "reject_url": link_for(notice.pk, "reject", base=base),
                "detail_url": base + reverse("approvals:detail", args=[notice.action_id]),
                # Rate the result once the action is carried out (apps.feedback.email_links).
                "rating_links": rating_links("action", notice.action_id, recipient.pk, base=base),
            }
            for notice in items
        ]
        context = {
            "recipient": recipient,
            "entries": entries,
            "kind": kind,
            "queue_url": base + reverse("approvals:queue"),
        }
        count = len(entries)
        message = EmailMultiAlternatives(
            subject=SUBJECTS[kind].format(count=count, s="" if count == 1 else "s"),
            body=render_to_string("approvals/email/notice.txt", context),
            to=[recipient.email],
        )
        message.attach_alternative(
            render_to_string("approvals/email/notice.html", context), "text/html"
        )
        messages.append(message)
    return messages


def chat_post_new(*, now: datetime) -> int:
    """Post new approval requests to the organisation's chat webhook, once each."""
    url = approval_settings_get().chat_webhook_url
    if not url:
        return 0
    with transaction.atomic():
        ids = list(
            ProposedAction.objects.select_for_update(skip_locked=True)
            .filter(status=ActionStatus.PENDING, chat_posted_at__isnull=True, expires_at__gt=now)
            .order_by("-risk", "pk")
            .values_list("pk", flat=True)
        )
        if not ids:
            return 0
        ProposedAction.objects.filter(pk__in=ids).update(chat_posted_at=now)
    actions = (
        ProposedAction.objects.filter(pk__in=ids).select_related("account").order_by("-risk", "pk")
    )
    base = site_url()
    lines = [
        f"• <{base}{reverse('approvals:detail', args=[a.pk])}|"
        f"{a.action_type.replace('_', ' ').capitalize()} for {a.account.name}> "
        f"(risk {a.risk})"
        for a in actions
    ]
    count = len(lines)
    text = f"{count} new action{'s' if count != 1 else ''} waiting for approval:\n" + "\n".join(
        lines
    )
    try:
        post_json(url, json.dumps({"text": text}).encode(), {"User-Agent": "LearningLoop/1"})
    except (OutboundRefused, OSError):
        return 0  # chat is best effort; the email and the queue still reach approvers
    return 1


def approvers_notify(*, now: datetime | None = None) -> NotifyResult:
    """Tell approvers what is new, remind them before expiry, escalate what is left.

    Idempotent: notices are recorded once per (action, person, kind); emails go out after
    the notices are committed, one per person and kind.
    """
    now = now or timezone.now()
    with transaction.atomic():
        batches = {kind: _record_notices(kind, now=now) for kind in NoticeKind.values}
    messages = [message for kind, ids in batches.items() if ids for message in _emails(ids, kind)]
    if messages:
        get_connection().send_messages(messages)
    chat_posts = chat_post_new(now=now)
    return NotifyResult(
        notices=sum(len(ids) for ids in batches.values()),
        emails=len(messages),
        chat_posts=chat_posts,
    )


# --- deciding from a link ----------------------------------------------------------------


@dataclass
class LinkTarget:
    notice: ApprovalNotice
    decision: str

    @property
    def action(self) -> ProposedAction:
        return self.notice.action


def link_target(token: str) -> LinkTarget:
    """The notice a link points at; ``LinkInvalid`` or ``LinkStale`` if it cannot be used."""
    notice_id, decision = read_token(token)
    notice = (
        ApprovalNotice.objects.select_related(
            "recipient", "action__account", "action__deal", "action__decided_by"
        )
        .filter(pk=notice_id)
        .first()
    )
    if notice is None:
        raise LinkStale
    return LinkTarget(notice=notice, decision=decision)


def action_is_stale(action: ProposedAction, *, now: datetime | None = None) -> bool:
    """Expired (or past its expiry): a link to it is dead (410)."""
    now = now or timezone.now()
    return action.status == ActionStatus.EXPIRED or (
        action.status == ActionStatus.PENDING and action.expires_at <= now
    )
