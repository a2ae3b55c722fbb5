from __future__ import annotations

from django.db import models
from django.db.models import Q


class Signal(models.TextChoices):
    """Which customer signal resolves an action of a type."""

    INBOUND_EMAIL = "inbound_email", "Inbound email on the account"
    MEETING = "meeting", "Meeting on the account"
    DEAL_PROGRESSION = "deal_progression", "Deal stages advanced"


class ActionType(models.Model):
    """A kind of agent action, with the time window in which its outcome is decided.

    Org-editable. Seeded (data migration) with email_sent 24 h, meeting_request and
    escalation 168 h, deal_progression 720 h.
    """

    code = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=100)
    window_hours = models.PositiveIntegerField()
    signal = models.CharField(max_length=20, choices=Signal.choices)
    description = models.TextField(blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(window_hours__gt=0), name="action_type_window_positive"
            ),
            models.CheckConstraint(
                condition=Q(signal__in=Signal.values), name="action_type_signal_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.code


class OutcomeStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RESOLVED = "resolved", "Resolved"
    EXPIRED = "expired", "Expired"


class OutcomeRecord(models.Model):
    """One agent action and what came of it.

    Recorded idempotently by ``external_id``. Pending until a signal resolves it within
    its window (score in [0, 1]) or the window ends (expired, score 0).
    """

    external_id = models.CharField(max_length=200, unique=True)
    action_type = models.ForeignKey(ActionType, on_delete=models.PROTECT, related_name="outcomes")
    account = models.ForeignKey("crm.Account", on_delete=models.CASCADE, related_name="outcomes")
    deal = models.ForeignKey(
        "crm.Deal", null=True, blank=True, on_delete=models.SET_NULL, related_name="outcomes"
    )
    clone = models.ForeignKey(
        "personas.Clone", null=True, blank=True, on_delete=models.SET_NULL, related_name="outcomes"
    )
    predicted_confidence = models.FloatField()
    occurred_at = models.DateTimeField()
    output_text = models.TextField(blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        max_length=10, choices=OutcomeStatus.choices, default=OutcomeStatus.PENDING
    )
    score = models.FloatField(null=True, blank=True)
    window_ends_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolving_interaction = models.ForeignKey(
        "crm.Interaction",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="resolved_outcomes",
    )
    resolution_note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-occurred_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(predicted_confidence__gte=0, predicted_confidence__lte=1),
                name="outcome_confidence_range",
            ),
            models.CheckConstraint(
                condition=Q(score__isnull=True) | Q(score__gte=0, score__lte=1),
                name="outcome_score_range",
            ),
            models.CheckConstraint(
                condition=Q(status__in=OutcomeStatus.values), name="outcome_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(status="pending", score__isnull=True, resolved_at__isnull=True)
                | (~Q(status="pending") & Q(score__isnull=False, resolved_at__isnull=False)),
                name="outcome_resolution_consistent",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "window_ends_at"]),
            models.Index(fields=["action_type", "status"]),
            models.Index(fields=["account", "occurred_at"]),
            models.Index(fields=["clone", "occurred_at"]),
            models.Index(fields=["occurred_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.action_type_id}:{self.external_id}"
