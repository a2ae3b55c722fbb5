"""Writes for insights: detection, act / dismiss / undo, feedback, the daily digest.

Every state change publishes its real-time event here, so no caller can forget it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import groupby
from typing import NotRequired, TypedDict, Unpack

from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import IntegrityError, connection, transaction
from django.db.models import Max, QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from apps.crm.models import Account
from apps.feedback.email_links import rating_links
from apps.insights import delivery, events
from apps.insights.detection import (
    ACCOUNT_DETECTORS,
    Candidate,
    detect_cross_account_patterns,
)
from apps.insights.models import (
    DIGEST_CHANNELS,
    SEVERITY_RANK,
    AlertChannel,
    AlertDelivery,
    AlertFeedback,
    AlertPreference,
    DigestDelivery,
    DismissReason,
    Insight,
    InsightStatus,
    PatternType,
    Severity,
)
from apps.insights.selectors import (
    alert_channels_for,
    digest_insights,
    digest_recipients,
    insight_settings,
    team_alerts,
)
from apps.tenancy.current import site_url
from apps.users.models import User

UNDO_SECONDS = 30
logger = logging.getLogger(__name__)


class InsightConflict(Exception):
    """The insight is not in a state that allows this change (API: 409)."""


# --- detection ----------------------------------------------------------------------------


@dataclass
class DetectionSummary:
    candidates: int = 0
    created: dict[str, int] = field(default_factory=dict)
    critical: int = 0

    def __str__(self) -> str:
        made = ", ".join(f"{count} {name}" for name, count in sorted(self.created.items()))
        return (
            f"{self.candidates} candidates, {sum(self.created.values())} new insights"
            f"{f' ({made})' if made else ''}, {self.critical} critical"
        )


def _key(candidate: Candidate) -> tuple:
    if candidate.pattern_type == PatternType.CROSS_ACCOUNT_PATTERN:
        return ("industry", candidate.industry, candidate.signal)
    return ("account", candidate.account_id, candidate.pattern_type)


def _strongest(candidates: list[Candidate]) -> list[Candidate]:
    """One candidate per open-insight slot: the most severe, then the most confident."""
    best: dict[tuple, Candidate] = {}
    others: dict[tuple, list[str]] = {}
    for candidate in candidates:
        key = _key(candidate)
        current = best.get(key)
        rank = (SEVERITY_RANK[candidate.severity], candidate.confidence)
        if current is None or rank > (SEVERITY_RANK[current.severity], current.confidence):
            if current is not None:
                others.setdefault(key, []).append(current.signal)
            best[key] = candidate
        else:
            others.setdefault(key, []).append(candidate.signal)
    for key, signals in others.items():
        best[key].evidence["other_signals"] = sorted(set(signals))
    return list(best.values())


def _store(candidates: list[Candidate], now: datetime, redetect_after: timedelta) -> list[int]:
    """Insert the candidates that have no open insight and were not closed lately."""
    recently_closed = set()
    for account_id, pattern, industry, signal in (
        Insight.objects.exclude(status=InsightStatus.PENDING)
        .filter(resolved_at__gte=now - redetect_after)
        .values_list("account_id", "pattern_type", "industry", "signal")
    ):
        recently_closed.add(("account", account_id, pattern, signal))
        recently_closed.add(("industry", industry, signal))
    rows = []
    for candidate in _strongest(candidates):
        if candidate.pattern_type == PatternType.CROSS_ACCOUNT_PATTERN:
            closed_key = ("industry", candidate.industry, candidate.signal)
        else:
            closed_key = ("account", candidate.account_id, candidate.pattern_type, candidate.signal)
        if closed_key in recently_closed:
            continue
        rows.append(candidate.insight(detected_at=now))
    before = Insight.objects.aggregate(last=Max("id"))["last"] or 0
    # The partial unique indexes turn an already-open insight into a skipped row.
    Insight.objects.bulk_create(rows, ignore_conflicts=True)
    return list(Insight.objects.filter(id__gt=before, detected_at=now).values_list("id", flat=True))


@transaction.atomic
def insights_detect(*, now: datetime | None = None) -> DetectionSummary:
    """Run every detector over the organisation's signals and store what is new.

    Safe to re-run: an open insight for the same account and pattern is never duplicated,
    and a closed one is not raised again for ``redetect_after_days``.
    """
    now = now or timezone.now()
    thresholds = insight_settings()
    redetect_after = timedelta(days=thresholds.redetect_after_days)
    candidates = [c for detector in ACCOUNT_DETECTORS for c in detector(thresholds, now)]
    new_ids = _store(candidates, now, redetect_after)
    # Cross-account patterns are read from the per-account insights just stored.
    cross = detect_cross_account_patterns(thresholds, now)
    new_ids += _store(cross, now, redetect_after)
    summary = DetectionSummary(candidates=len(candidates) + len(cross))
    _alerts_after_commit(new_ids)
    new = Insight.objects.filter(id__in=new_ids).select_related("account")
    for insight in new:
        summary.created[insight.pattern_type] = summary.created.get(insight.pattern_type, 0) + 1
        if insight.severity == Severity.CRITICAL:
            summary.critical += 1
    # Every stream filters by what its viewer chose to see live (``live_severities_for``).
    events.publish_many([events.insight_event("created", insight) for insight in new])
    return summary


class InsightFields(TypedDict):
    """A hand-made insight: an account's, or an industry's (cross-account) without one."""

    pattern_type: str
    signal: str
    title: str
    confidence: float
    severity: str
    evidence: NotRequired[dict]
    account: NotRequired[Account | None]
    industry: NotRequired[str]
    detected_at: NotRequired[datetime]


@transaction.atomic
def insight_create(**fields: Unpack[InsightFields]) -> tuple[Insight, bool]:
    """Store one insight (hand-made or from a single detection). Returns (insight, created).

    ``detected_at`` defaults to now. If an open insight already holds the slot, that one is
    returned unchanged.
    """
    insight = Insight(**fields)
    insight.detected_at = insight.detected_at or timezone.now()
    insight.full_clean(validate_constraints=False)
    try:
        with transaction.atomic():
            insight.save()
    except IntegrityError:
        slot = Insight.objects.filter(
            status=InsightStatus.PENDING, pattern_type=insight.pattern_type
        )
        if insight.account_id:
            slot = slot.filter(account_id=insight.account_id)
        else:
            slot = slot.filter(industry=insight.industry)
        existing = slot.filter(signal=insight.signal).first() or slot.first()
        if existing is None:
            raise
        return existing, False
    events.publish(events.insight_event("created", insight))
    _alerts_after_commit([insight.pk])
    return insight, True


# --- act, dismiss, undo ---------------------------------------------------------------------


def _lock(insight_id: int) -> Insight:
    return (
        Insight.objects.select_for_update(of=("self",))
        .select_related("account", "resolved_by")
        .get(pk=insight_id)
    )


def _conflict(insight: Insight) -> InsightConflict:
    person = insight.resolved_by
    who = (person.get_full_name() or person.username) if person else "someone"
    when = timezone.localtime(insight.resolved_at).strftime("%Y-%m-%d %H:%M")
    status = insight.get_status_display().lower()
    return InsightConflict(f"This insight was already {status} by {who} at {when}.")


def _resolve(insight: Insight, user: User, status: str, note: str, **fields) -> Insight:
    """Close a pending insight (409 if it is already closed) and tell the live stream."""
    insight = _lock(insight.pk)
    if not insight.is_pending:
        raise _conflict(insight)
    insight.status = status
    insight.resolved_at = timezone.now()
    insight.resolved_by = user
    for name, value in fields.items():
        setattr(insight, name, value)
    insight.resolution_note = note.strip()[:2000]
    insight.save(update_fields=["status", "resolved_at", "resolved_by", *fields, "resolution_note"])
    events.publish(events.insight_event("resolved", insight))
    return insight


@transaction.atomic
def insight_act(*, insight: Insight, user: User, note: str = "") -> Insight:
    """Mark a pending insight as acted on (409 if it is already closed)."""
    return _resolve(insight, user, InsightStatus.ACTED, note)


def _clean_reason(reason: str) -> str:
    if reason not in DismissReason.values:
        choices = ", ".join(DismissReason.values)
        raise ValidationError({"reason": f"Choose a reason: {choices}."})
    return reason


@transaction.atomic
def insight_dismiss(*, insight: Insight, user: User, reason: str, note: str = "") -> Insight:
    """Dismiss a pending insight with a reason (409 if it is already closed)."""
    reason = _clean_reason(reason)
    return _resolve(insight, user, InsightStatus.DISMISSED, note, dismiss_reason=reason)


@transaction.atomic
def insights_bulk_dismiss(
    *, insights: QuerySet[Insight], user: User, reason: str, note: str = ""
) -> int:
    """Dismiss every pending insight of ``insights`` in one UPDATE. Returns how many."""
    reason = _clean_reason(reason)
    ids = list(
        Insight.objects.filter(pk__in=insights.values("pk"), status=InsightStatus.PENDING)
        .select_for_update()
        .values_list("pk", flat=True)
    )
    count = Insight.objects.filter(pk__in=ids).update(
        status=InsightStatus.DISMISSED,
        resolved_at=timezone.now(),
        resolved_by=user,
        dismiss_reason=reason,
        resolution_note=note.strip()[:2000],
    )
    if count:
        events.publish({"kind": "bulk_resolved", "ids": ids, "status": InsightStatus.DISMISSED})
    return count


@transaction.atomic
def insight_reopen(*, insight: Insight, user: User) -> Insight:
    """Undo an act or dismiss: only by the same person, within ``UNDO_SECONDS``."""
    insight = _lock(insight.pk)
    if insight.is_pending:
        raise InsightConflict("This insight is already open.")
    if insight.resolved_by_id != user.pk or insight.resolved_at < timezone.now() - timedelta(
        seconds=UNDO_SECONDS
    ):
        raise InsightConflict("Only the person who closed it can undo, within a few seconds.")
    insight.status = InsightStatus.PENDING
    insight.resolved_at = None
    insight.resolved_by = None
    insight.dismiss_reason = ""
    insight.resolution_note = ""
    try:
        with transaction.atomic():
            insight.save(
                update_fields=[
                    "status",
                    "resolved_at",
                    "resolved_by",
                    "dismiss_reason",
                    "resolution_note",
                ]
            )
    except IntegrityError as error:
        raise InsightConflict("A newer insight of this pattern is already open.") from error
    events.publish(events.insight_event("reopened", insight))
    return insight


# --- feedback -------------------------------------------------------------------------------


def alert_feedback_record(
    *, insight: Insight, user: User, useful: bool, comment: str = ""
) -> AlertFeedback:
    """Record (or change) whether this insight was useful to the user."""
    comment = comment.strip()
    if len(comment) > 2000:
        raise ValidationError({"comment": "Keep the comment under 2,000 characters."})
    feedback, _ = AlertFeedback.objects.update_or_create(
        insight=insight, user=user, defaults={"useful": useful, "comment": comment}
    )
    return feedback


# --- daily digest ---------------------------------------------------------------------------


@transaction.atomic
def digest_send(*, now: datetime | None = None) -> int:
    """Email each manager the last 24 h of insights on their team's accounts, grouped by
    account, leaving out the severities they chose to hear of nowhere. Returns emails sent.

    At most one digest per manager and day: re-running the job sends nothing twice (a
    manager with nothing to read gets none, and may get one later that day).
    """
    now = now or timezone.now()
    insights = {i.pk: i for i in digest_insights(since=now - timedelta(hours=24), until=now)}
    if not insights:
        return 0
    day = now.date()
    recipients = {u.pk: u for u in digest_recipients().exclude(insight_digests__day=day)}
    wanted: dict[int, list[int]] = {}
    for manager_id, insight_id, channel in team_alerts(
        insight_ids=list(insights), manager_ids=list(recipients)
    ):
        if channel in DIGEST_CHANNELS:
            wanted.setdefault(manager_id, []).append(insight_id)
    if not wanted:
        return 0
    DigestDelivery.objects.bulk_create(
        [
            DigestDelivery(user_id=user_id, day=day, insight_count=len(ids), sent_at=now)
            for user_id, ids in wanted.items()
        ],
        ignore_conflicts=True,
    )
    # A concurrent run may have claimed some recipients first; send only to ours.
    claimed = set(
        DigestDelivery.objects.filter(day=day, sent_at=now).values_list("user_id", flat=True)
    )
    site = site_url()
    order = {pk: position for position, pk in enumerate(insights)}
    messages = []
    for user_id, ids in wanted.items():
        if user_id not in claimed:
            continue
        theirs = [insights[pk] for pk in sorted(ids, key=order.__getitem__)]
        messages.append(_digest_message(recipients[user_id], theirs, day=day, site=site))
    with get_connection() as mail:
        return mail.send_messages(messages) or 0


def _digest_message(user: User, insights: list[Insight], *, day, site: str):
    groups = [
        {
            "subject": group[0].subject,
            "url": site + reverse("insights:account", args=[group[0].account_id])
            if group[0].account_id
            else "",
            # Each insight with its one-click "useful / not useful" links (email_rating).
            "insights": [
                (insight, rating_links("insight", insight.pk, user.pk, base=site))
                for insight in group
            ],
        }
        for _, items in groupby(insights, key=lambda i: (i.account_id, i.industry))
        for group in [list(items)]
    ]
    critical = sum(1 for insight in insights if insight.severity == Severity.CRITICAL)
    context = {
        "user": user,
        "groups": groups,
        "total": len(insights),
        "critical": critical,
        "day": day,
        "inbox_url": site + reverse("insights:inbox"),
        "preferences_url": site + reverse("insights:preferences"),
        "org_name": getattr(connection.tenant, "name", ""),
    }
    message = EmailMultiAlternatives(
        subject=f"Insights digest: {len(insights)} new in the last 24 h"
        + (f" ({critical} critical)" if critical else ""),
        body=render_to_string("insights/email/digest.txt", context),
        to=[user.email],
    )
    message.attach_alternative(render_to_string("insights/email/digest.html", context), "text/html")
    return message


# --- immediate alerts -----------------------------------------------------------------------


def _alerts_after_commit(insight_ids: list[int]) -> None:
    """Send the immediate alerts of newly stored insights once the transaction commits.

    Detection already runs in a background job, so sending here delays no person. A failure
    (mail server down) is logged; the ``deliver_alerts`` job retries every few minutes.
    """
    if not insight_ids:
        return
    ids = list(insight_ids)

    def send() -> None:
        try:
            insight_alerts_deliver(insight_ids=ids)
        except Exception:  # noqa: BLE001 - the insights are stored; the job retries
            logger.warning("immediate insight alerts failed; the job will retry", exc_info=True)

    transaction.on_commit(send)


ALERT_RETRY_WINDOW = timedelta(hours=2)


def insight_alerts_retry(*, now: datetime | None = None) -> int:
    """Deliver what an immediate send missed: pending insights of the last two hours
    (already-sent ones are skipped by their claims)."""
    now = now or timezone.now()
    ids = list(
        Insight.objects.filter(
            status=InsightStatus.PENDING, detected_at__gte=now - ALERT_RETRY_WINDOW
        ).values_list("pk", flat=True)
    )
    return insight_alerts_deliver(insight_ids=ids, now=now) if ids else 0


@transaction.atomic
def insight_alerts_deliver(*, insight_ids: list[int], now: datetime | None = None) -> int:
    """Send new insights at once to those who asked: an email to each manager of the
    account's team who chose "email" for its severity, and critical insights to the
    organisation's chat webhook if one is set. Returns how many messages went out.

    Each (insight, person, channel) is claimed in AlertDelivery first, so re-running sends
    nothing twice; an insight closed meanwhile is not sent.
    """
    now = now or timezone.now()
    insights = {
        i.pk: i
        for i in Insight.objects.filter(pk__in=insight_ids, status=InsightStatus.PENDING)
        .select_related("account")
        .order_by("pk")
    }
    if not insights:
        return 0
    managers = {u.pk: u for u in digest_recipients()}
    pairs = [
        (manager_id, insight_id)
        for manager_id, insight_id, channel in team_alerts(
            insight_ids=list(insights), manager_ids=list(managers)
        )
        if channel == AlertChannel.EMAIL
    ]
    critical = [pk for pk, i in insights.items() if i.severity == Severity.CRITICAL]
    webhook = delivery.chat_webhook_url()
    claims = [
        AlertDelivery(insight_id=i, user_id=m, channel=AlertChannel.EMAIL, sent_at=now)
        for m, i in pairs
    ]
    if webhook:
        claims += [AlertDelivery(insight_id=i, channel="chat", sent_at=now) for i in critical]
    AlertDelivery.objects.bulk_create(claims, ignore_conflicts=True)
    ours = set(
        AlertDelivery.objects.filter(sent_at=now, insight_id__in=list(insights)).values_list(
            "insight_id", "user_id", "channel"
        )
    )
    site = site_url()
    messages = [
        _alert_message(managers[m], insights[i], site=site)
        for m, i in pairs
        if (i, m, AlertChannel.EMAIL) in ours
    ]
    sent = 0
    if messages:
        with get_connection() as mail:
            sent += mail.send_messages(messages) or 0
    for insight_id in critical:
        if webhook and (insight_id, None, "chat") in ours:
            sent += delivery.chat_post(webhook, delivery.chat_payload(insights[insight_id], site))
    return sent


def _alert_message(user: User, insight: Insight, *, site: str) -> EmailMultiAlternatives:
    context = {
        "user": user,
        "insight": insight,
        "url": site + reverse("insights:detail", args=[insight.pk]),
        "account_url": site + reverse("insights:account", args=[insight.account_id])
        if insight.account_id
        else "",
        "preferences_url": site + reverse("insights:preferences"),
        "org_name": getattr(connection.tenant, "name", ""),
    }
    message = EmailMultiAlternatives(
        subject=f"[{insight.get_severity_display()}] {insight.subject}: {insight.title}"[:200],
        body=render_to_string("insights/email/alert.txt", context),
        to=[user.email],
    )
    message.attach_alternative(render_to_string("insights/email/alert.html", context), "text/html")
    return message


# --- alert preferences ----------------------------------------------------------------------


@transaction.atomic
def alert_preferences_save(*, user: User, channels: dict[str, str]) -> dict[str, str]:
    """Store the person's channel for each severity given (one upsert). Returns them all."""
    errors = {
        severity: "Choose live, email, digest or none."
        for severity, channel in channels.items()
        if severity not in Severity.values or channel not in AlertChannel.values
    }
    if errors:
        raise ValidationError(errors)
    AlertPreference.objects.bulk_create(
        [AlertPreference(user=user, severity=s, channel=c) for s, c in channels.items()],
        update_conflicts=True,
        unique_fields=["user", "severity"],
        update_fields=["channel", "updated_at"],
    )
    return alert_channels_for(user)
