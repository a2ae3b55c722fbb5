from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from apps.crm.times import EARLIEST, LATEST_STORABLE


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


# Outcomes whose result is known: a signal resolved them, or their window closed without one.
DECIDED_STATUSES = [OutcomeStatus.RESOLVED.value, OutcomeStatus.EXPIRED.value]


class LiveOutcomeManager(models.Manager):
    """Outcomes that are not deleted: what lists, pages, dashboards and jobs read."""

    def get_queryset(self) -> models.QuerySet:
        return super().get_queryset().filter(deleted_at__isnull=True)


# What an agent sends when it records an action, in the order the API and the admin show it.
RECORDED_FIELDS = [
    "external_id",
    "action_type",
    "account",
    "deal",
    "clone",
    "predicted_confidence",
    "occurred_at",
    "output_text",
    "metadata",
]


class OutcomeRecord(models.Model):
    """One agent action and what came of it.

    Recorded idempotently by ``external_id``. Pending until a signal resolves it within
    its window (score in [0, 1]) or the window ends (expired, score 0).

    A deleted record (``deleted_at`` set) is kept: it leaves every list, dashboard and
    calibration (``objects`` does not see it; ``all_objects`` does), its ``external_id``
    stays taken, and an admin can restore it.
    """

    # Unique through a constraint (Meta), not unique=True, which would add a second
    # pattern-ops index nobody uses; FK columns whose lookups a composite index below
    # already serves have no index of their own, and the optional references are indexed
    # only where set (an action recorded without them touches none of those indexes).
    # Fewer index entries per row, faster bulk ingestion.
    external_id = models.CharField(max_length=200)
    action_type = models.ForeignKey(
        ActionType, on_delete=models.PROTECT, related_name="outcomes", db_index=False
    )
    account = models.ForeignKey(
        "crm.Account", on_delete=models.CASCADE, related_name="outcomes", db_index=False
    )
    deal = models.ForeignKey(
        "crm.Deal",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="outcomes",
        db_index=False,
    )
    clone = models.ForeignKey(
        "agents.Clone",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="outcomes",
        db_index=False,
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
        db_index=False,
    )
    resolution_note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    objects = LiveOutcomeManager()
    all_objects = models.Manager()  # noqa: DJ012 (a manager, not a field)

    class Meta:
        ordering = ["-occurred_at"]
        base_manager_name = "all_objects"
        constraints = [
            # What readers can load (see apps.crm.times); the API's range is narrower.
            models.CheckConstraint(
                condition=Q(
                    occurred_at__gte=EARLIEST,
                    occurred_at__lt=LATEST_STORABLE,
                    window_ends_at__lt=LATEST_STORABLE,
                )
                & (
                    Q(resolved_at__isnull=True)
                    | Q(resolved_at__gte=EARLIEST, resolved_at__lt=LATEST_STORABLE)
                ),
                name="outcome_times_range",
            ),
            models.UniqueConstraint(fields=["external_id"], name="outcome_external_id_unique"),
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
            # What resolution and expiry look for: pending records by type and window end.
            # Decided records leave it, so it stays as small as the pending backlog.
            models.Index(
                fields=["action_type", "window_ends_at"],
                condition=Q(status="pending"),
                name="outcome_pending",
            ),
            models.Index(fields=["account", "occurred_at"]),
            models.Index(fields=["occurred_at"]),
            # The outcomes list, most recent action first, by status. Records are recorded
            # pending, so ingestion never writes to these two; resolution and expiry do.
            models.Index(
                fields=["-occurred_at", "-id"],
                condition=Q(status="resolved"),
                name="outcome_resolved_recent",
            ),
            models.Index(
                fields=["-occurred_at", "-id"],
                condition=Q(status="expired"),
                name="outcome_expired_recent",
            ),
            models.Index(
                fields=["clone", "occurred_at"],
                condition=Q(clone__isnull=False),
                name="outcome_clone_occurred",
            ),
            models.Index(fields=["deal"], condition=Q(deal__isnull=False), name="outcome_deal"),
            models.Index(
                fields=["resolving_interaction"],
                condition=Q(resolving_interaction__isnull=False),
                name="outcome_resolving_interaction",
            ),
            # The periodic jobs' idle checks: anything recorded or decided since their last
            # run is one index probe (apps/outcomes/tasks.py).
            models.Index(fields=["created_at"], name="outcome_arrived"),
            models.Index(
                fields=["resolved_at"],
                condition=Q(resolved_at__isnull=False),
                name="outcome_decided",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.action_type_id}:{self.external_id}"


class OutcomeChangeKind(models.TextChoices):
    CORRECTED = "corrected", "Corrected"
    DELETED = "deleted", "Deleted"
    RESTORED = "restored", "Restored"
    LATE_SIGNAL = "late_signal", "Resolved by a late signal"
    REPAIRED = "repaired", "Repaired (time out of range)"


class OutcomeChange(models.Model):
    """One change to an outcome after it was recorded: its history and audit trail.

    Who (``actor``: a user, an agent key or a job), when, and what changed
    (``changes``: ``{field: {"from": old, "to": new}}``). Append-only.
    """

    outcome = models.ForeignKey(OutcomeRecord, on_delete=models.CASCADE, related_name="changes")
    kind = models.CharField(max_length=20, choices=OutcomeChangeKind.choices)
    actor = models.CharField(max_length=200)
    changes = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=OutcomeChangeKind.values), name="outcome_change_kind_valid"
            )
        ]
        indexes = [
            models.Index(fields=["outcome", "created_at"], name="outcome_change_history"),
            models.Index(fields=["created_at"], name="outcome_change_recent"),  # idle checks
        ]

    def __str__(self) -> str:
        return f"{self.kind} by {self.actor}"


CALIBRATION_BINS = 10


class CalibrationBin(models.Model):
    """One of the ten confidence bins of an action type's reliability diagram.

    Bin ``i`` holds the resolved and expired outcomes whose predicted confidence falls in
    ``[i / 10, (i + 1) / 10)`` (the last bin includes 1.0): how many, their mean predicted
    confidence and their mean actual score (expired = 0). ``sum_squared_error`` keeps
    Σ (confidence − score)² so that the Brier score can be read from the bins alone.
    Recomputed by the ``recalibrate`` job.
    """

    action_type = models.ForeignKey(
        ActionType, on_delete=models.CASCADE, related_name="calibration_bins"
    )
    bin_index = models.PositiveSmallIntegerField()
    lower = models.FloatField()
    upper = models.FloatField()
    count = models.PositiveIntegerField(default=0)
    mean_predicted = models.FloatField(null=True, blank=True)
    mean_actual = models.FloatField(null=True, blank=True)
    sum_squared_error = models.FloatField(default=0.0)
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["action_type", "bin_index"]
        constraints = [
            models.UniqueConstraint(
                fields=["action_type", "bin_index"], name="calibration_bin_unique"
            ),
            models.CheckConstraint(
                condition=Q(bin_index__gte=0, bin_index__lt=CALIBRATION_BINS),
                name="calibration_bin_index_range",
            ),
            models.CheckConstraint(
                condition=Q(count=0, mean_predicted__isnull=True, mean_actual__isnull=True)
                | Q(count__gt=0, mean_predicted__isnull=False, mean_actual__isnull=False),
                name="calibration_bin_means_when_counted",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.action_type_id} bin {self.bin_index}"
