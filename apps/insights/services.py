"""Writes for insights: detection, act / dismiss / undo, feedback, the daily digest.

Every state change publishes its real-time event here, so no caller can forget it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import groupby

from django.conf import settings as django_settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import IntegrityError, connection, transaction
from django.db.models import Max, QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from apps.crm.models import Account
from apps.insights import events
from apps.insights.detection import (
    ACCOUNT_DETECTORS,
    Candidate,
    detect_cross_account_patterns,
)
from apps.insights.models import (
    SEVERITY_RANK,
    AlertFeedback,
    DigestDelivery,
    DismissReason,
    Insight,
    InsightStatus,
    PatternType,
    Severity,
)
from apps.insights.selectors import digest_insights, digest_recipients, insight_settings
from apps.users.models import User

UNDO_SECONDS = 30


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
        rows.append(
            Insight(
                account_id=candidate.account_id,
                industry=candidate.industry,
                pattern_type=candidate.pattern_type,
                signal=candidate.signal,
                title=candidate.title[:200],
                confidence=candidate.confidence,
                severity=candidate.severity,
                evidence=candidate.evidence,
                detected_at=now,
            )
        )
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
    new = Insight.objects.filter(id__in=new_ids).select_related("account")
    for insight in new:
        summary.created[insight.pattern_type] = summary.created.get(insight.pattern_type, 0) + 1
        if insight.severity == Severity.CRITICAL:
            summary.critical += 1
            events.publish(events.insight_event("created", insight))
    return summary


@transaction.atomic
def insight_create(
    *,
    pattern_type: str,
    signal: str,
    title: str,
    confidence: float,
    severity: str,
    evidence: dict | None = None,
    account: Account | None = None,
    industry: str = "",
    detected_at: datetime | None = None,
) -> tuple[Insight, bool]:
    """Store one insight (hand-made or from a single detection). Returns (insight, created).

    If an open insight already holds the slot, that one is returned unchanged.
    """
    insight = Insight(
        account=account,
        industry=industry,
        pattern_type=pattern_type,
        signal=signal,
        title=title,
        confidence=confidence,
        severity=severity,
        evidence=evidence or {},
        detected_at=detected_at or timezone.now(),
    )
    insight.full_clean(validate_constraints=False)
    try:
        with transaction.atomic():
            insight.save()
    except IntegrityError:
        slot = Insight.objects.filter(status=InsightStatus.PENDING, pattern_type=pattern_type)
        slot = slot.filter(account=account) if account else slot.filter(industry=industry)
        existing = slot.filter(signal=signal).first() or slot.first()
        if existing is None:
            raise
        return existing, False
    if insight.severity == Severity.CRITICAL:
        events.publish(events.insight_event("created", insight))
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


@transaction.atomic
def insight_act(*, insight: Insight, user: User, note: str = "") -> Insight:
    """Mark a pending insight as acted on (409 if it is already closed)."""
    insight = _lock(insight.pk)
    if not insight.is_pending:
        raise _conflict(insight)
    insight.status = InsightStatus.ACTED
    insight.resolved_at = timezone.now()
    insight.resolved_by = user
    insight.resolution_note = note.strip()[:2000]
    insight.save(update_fields=["status", "resolved_at", "resolved_by", "resolution_note"])
    events.publish(events.insight_event("resolved", insight))
    return insight


def _clean_reason(reason: str) -> str:
    if reason not in DismissReason.values:
        choices = ", ".join(DismissReason.values)
        raise ValidationError({"reason": f"Choose a reason: {choices}."})
    return reason


@transaction.atomic
def insight_dismiss(*, insight: Insight, user: User, reason: str, note: str = "") -> Insight:
    """Dismiss a pending insight with a reason (409 if it is already closed)."""
    reason = _clean_reason(reason)
    insight = _lock(insight.pk)
    if not insight.is_pending:
        raise _conflict(insight)
    insight.status = InsightStatus.DISMISSED
    insight.resolved_at = timezone.now()
    insight.resolved_by = user
    insight.dismiss_reason = reason
    insight.resolution_note = note.strip()[:2000]
    insight.save(
        update_fields=["status", "resolved_at", "resolved_by", "dismiss_reason", "resolution_note"]
    )
    events.publish(events.insight_event("resolved", insight))
    return insight


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


def _site_url() -> str:
    tenant = getattr(connection, "tenant", None)
    domain = tenant.get_primary_domain() if tenant is not None else None
    scheme = "https" if django_settings.PRODUCTION else "http"
    return f"{scheme}://{domain.domain}" if domain else ""


@transaction.atomic
def digest_send(*, now: datetime | None = None) -> int:
    """Email each manager the last 24 h of insights grouped by account. Returns emails sent.

    At most one digest per manager and day: re-running the job sends nothing twice.
    """
    now = now or timezone.now()
    insights = list(digest_insights(since=now - timedelta(hours=24), until=now))
    if not insights:
        return 0
    day = now.date()
    recipients = list(digest_recipients().exclude(insight_digests__day=day))
    if not recipients:
        return 0
    DigestDelivery.objects.bulk_create(
        [
            DigestDelivery(user=user, day=day, insight_count=len(insights), sent_at=now)
            for user in recipients
        ],
        ignore_conflicts=True,
    )
    # A concurrent run may have claimed some recipients first; send only to ours.
    claimed = set(
        DigestDelivery.objects.filter(day=day, sent_at=now).values_list("user_id", flat=True)
    )
    site = _site_url()
    groups = [
        {
            "subject": group[0].subject,
            "url": site + reverse("insights:account", args=[group[0].account_id])
            if group[0].account_id
            else "",
            "insights": group,
        }
        for _, items in groupby(insights, key=lambda i: (i.account_id, i.industry))
        for group in [list(items)]
    ]
    critical = sum(1 for insight in insights if insight.severity == Severity.CRITICAL)
    messages = []
    for user in recipients:
        if user.pk not in claimed:
            continue
        context = {
            "user": user,
            "groups": groups,
            "total": len(insights),
            "critical": critical,
            "day": day,
            "inbox_url": site + reverse("insights:inbox"),
            "org_name": getattr(connection.tenant, "name", ""),
        }
        message = EmailMultiAlternatives(
            subject=f"Insights digest: {len(insights)} new in the last 24 h"
            + (f" ({critical} critical)" if critical else ""),
            body=render_to_string("insights/email/digest.txt", context),
            to=[user.email],
        )
        message.attach_alternative(
            render_to_string("insights/email/digest.html", context), "text/html"
        )
        messages.append(message)
    with get_connection() as mail:
        return mail.send_messages(messages) or 0
