"""Celery tasks for approvals: the expiry job and webhook delivery with backoff."""

from __future__ import annotations

from datetime import datetime, timedelta

from celery import shared_task
from django.db.models import Exists, Expression

from apps.approvals.models import ActionStatus, ProposedAction
from apps.approvals.notifications import approvers_notify
from apps.approvals.services import (
    UNDO_WINDOW,
    actions_expire,
    webhook_attempt,
    webhook_give_up,
)
from apps.tenancy.periodic import any_row, periodic_job

WEBHOOK_MAX_RETRIES = 6
WEBHOOK_FIRST_DELAY_SECONDS = 30


def webhook_backoff(retries: int) -> int:
    """Seconds before the next attempt: 30 s, 1 min, 2 min, … capped at one hour."""
    return min(3600, WEBHOOK_FIRST_DELAY_SECONDS * 2**retries)


def _expiry_due(since: Expression, now: datetime) -> Exists:
    """A pending action's approval timeout has passed."""
    return any_row(ProposedAction, status=ActionStatus.PENDING, expires_at__lte=now)


def _any_pending(since: Expression, now: datetime) -> Exists:
    """Notices, reminders and escalations all concern pending actions (reminders come due
    by the clock): an organisation with none has nothing to tell."""
    return any_row(ProposedAction, status=ActionStatus.PENDING)


@periodic_job(every=timedelta(minutes=15), has_work=_expiry_due)
def expire_approvals() -> str:
    """Expire pending actions past the organisation's approval timeout."""
    return f"{actions_expire()} expired"


@periodic_job(every=timedelta(minutes=5), has_work=_any_pending)
def notify_approvers() -> str:
    """Email approvers new actions (batched), remind before expiry, escalate; post to chat."""
    result = approvers_notify()
    return f"{result.emails} emails about {result.notices} notices; {result.chat_posts} chat posts"


@shared_task(bind=True, name="approvals.deliver_webhook", max_retries=WEBHOOK_MAX_RETRIES)
def deliver_webhook(self, delivery_id: int) -> str:
    """POST one decision notice; on failure retry with exponential backoff, then give up."""
    delivered = webhook_attempt(delivery_id=delivery_id)
    if delivered is None:  # still inside the undo window: come back when it has passed
        deliver_webhook.apply_async((delivery_id,), countdown=UNDO_WINDOW.total_seconds())
        return "waiting"
    if delivered:
        return "delivered"
    if self.request.retries >= self.max_retries:
        webhook_give_up(delivery_id=delivery_id)
        return "failed"
    raise self.retry(countdown=webhook_backoff(self.request.retries))
