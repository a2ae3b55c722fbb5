"""Approvals: guardrails classify what the agent proposes; people decide what needs a human.

A ``ProposedAction`` is classified on arrival by the org's ``GuardrailRule`` rows into
``autonomous`` (approved at once), ``approval_required`` (pending in the queue) or
``hard_stop`` (blocked, never executable). Every step is appended to ``ActionEvent``
(the audit trail, immutable in the database). Decisions reach the agent by polling or
by a signed webhook, each delivery kept in ``WebhookDelivery``.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

DEFAULT_TIMEOUT_HOURS = 48


class ApprovalSettings(models.Model):
    """The organisation's approval settings: one row per organisation (schema).

    Pending actions expire after ``timeout_hours``; decisions are POSTed to
    ``webhook_url`` signed with HMAC-SHA256 of the body under ``webhook_secret``.
    """

    singleton = models.BooleanField(default=True, unique=True, editable=False)
    timeout_hours = models.PositiveIntegerField(
        default=DEFAULT_TIMEOUT_HOURS,
        validators=[MinValueValidator(1), MaxValueValidator(24 * 30)],
        help_text="Pending actions expire after this many hours without a decision.",
    )
    webhook_url = models.URLField(
        blank=True, help_text="Decisions are POSTed here as JSON. Leave empty to poll only."
    )
    webhook_secret = models.CharField(
        max_length=200,
        blank=True,
        help_text="Shared secret: the X-LearningLoop-Signature header is "
        "sha256=HMAC-SHA256(secret, raw body) in hex.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "approval settings"
        verbose_name_plural = "approval settings"
        constraints = [
            models.CheckConstraint(condition=Q(singleton=True), name="approval_settings_singleton"),
            models.CheckConstraint(
                condition=Q(timeout_hours__gte=1), name="approval_settings_timeout_positive"
            ),
        ]

    def __str__(self) -> str:
        return "Approval settings"

    @property
    def timeout(self) -> timedelta:
        return timedelta(hours=self.timeout_hours)


class Category(models.TextChoices):
    AUTONOMOUS = "autonomous", "Autonomous"
    APPROVAL_REQUIRED = "approval_required", "Approval required"
    HARD_STOP = "hard_stop", "Hard stop"


# Higher wins when several rules fire.
CATEGORY_SEVERITY = {
    Category.AUTONOMOUS: 0,
    Category.APPROVAL_REQUIRED: 1,
    Category.HARD_STOP: 2,
}


class RuleKind(models.TextChoices):
    ACTION_TYPE = "action_type", "Action type is …"
    AMOUNT_AT_LEAST = "amount_at_least", "Amount at least …"
    DISCOUNT_OVER = "discount_over", "Discount over … %"
    UNKNOWN_ACTION_TYPE = "unknown_action_type", "Action type not defined in this org"
    EXECUTIVE_FIRST_CONTACT = "executive_first_contact", "First contact with an executive"
    LOW_CONFIDENCE = "low_confidence", "Agent confidence below …"


class GuardrailRule(models.Model):
    """One org-editable guardrail: when it matches a proposal, the proposal gets ``category``.

    The strictest matching rule decides (hard stop over approval required); a proposal that
    matches no rule is autonomous. Every matching rule's message is kept as a reason.
    """

    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=30, choices=RuleKind.choices)
    action_type = models.CharField(
        max_length=50, blank=True, help_text="For 'Action type is …': the action type code."
    )
    threshold = models.DecimalField(
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="Amount, discount % or confidence (0-1), depending on the kind.",
    )
    category = models.CharField(
        max_length=20,
        choices=[c for c in Category.choices if c[0] != Category.AUTONOMOUS],
        default=Category.APPROVAL_REQUIRED,
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-category", "name"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=RuleKind.values), name="rule_kind_valid"),
            models.CheckConstraint(
                condition=Q(category__in=[Category.APPROVAL_REQUIRED, Category.HARD_STOP]),
                name="rule_category_valid",
            ),
            models.CheckConstraint(
                condition=~Q(kind=RuleKind.ACTION_TYPE) | ~Q(action_type=""),
                name="rule_action_type_given",
            ),
            models.CheckConstraint(
                condition=~Q(
                    kind__in=[
                        RuleKind.AMOUNT_AT_LEAST,
                        RuleKind.DISCOUNT_OVER,
                        RuleKind.LOW_CONFIDENCE,
                    ]
                )
                | Q(threshold__isnull=False, threshold__gte=0),
                name="rule_threshold_given",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ActionStatus(models.TextChoices):
    APPROVED = "approved", "Approved"
    PENDING = "pending", "Pending"
    BLOCKED = "blocked", "Blocked"
    REJECTED = "rejected", "Rejected"
    EXPIRED = "expired", "Expired"
    EXECUTED = "executed", "Executed"


class ProposedAction(models.Model):
    """Something the agent wants to do, waiting for (or past) a guardrail or human decision.

    Proposed idempotently by ``external_id``. Status moves pending → approved | rejected |
    expired, approved → executed; autonomous proposals start approved, hard stops blocked.
    ``risk`` (0-100) orders the queue; ``calibrated_confidence`` is the agent's confidence
    mapped through the org's calibration when it was proposed.
    """

    external_id = models.CharField(max_length=200, unique=True)
    action_type = models.CharField(max_length=50, db_index=True)
    account = models.ForeignKey(
        "crm.Account", on_delete=models.CASCADE, related_name="proposed_actions"
    )
    deal = models.ForeignKey(
        "crm.Deal",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="proposed_actions",
    )
    clone = models.ForeignKey(
        "agents.Clone",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="proposed_actions",
    )
    payload = models.JSONField(default=dict, blank=True)
    rationale = models.TextField(blank=True)
    amount = models.DecimalField(
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
    )
    discount_pct = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
    )
    confidence = models.FloatField(null=True, blank=True)
    calibrated_confidence = models.FloatField(null=True, blank=True)
    category = models.CharField(max_length=20, choices=Category.choices)
    status = models.CharField(max_length=10, choices=ActionStatus.choices)
    reasons = models.JSONField(default=list, blank=True)
    risk = models.PositiveSmallIntegerField(default=0)
    proposed_by = models.CharField(max_length=150, blank=True)
    proposed_at = models.DateTimeField()
    expires_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="decided_actions",
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True)
    executed_at = models.DateTimeField(null=True, blank=True)
    result = models.JSONField(null=True, blank=True)
    outcome = models.OneToOneField(
        "outcomes.OutcomeRecord",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="proposed_action",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-proposed_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(category__in=Category.values), name="action_category_valid"
            ),
            models.CheckConstraint(
                condition=Q(status__in=ActionStatus.values), name="action_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(confidence__isnull=True) | Q(confidence__gte=0, confidence__lte=1),
                name="action_confidence_range",
            ),
            models.CheckConstraint(
                condition=Q(amount__isnull=True) | Q(amount__gte=0),
                name="action_amount_non_negative",
            ),
            models.CheckConstraint(
                condition=Q(discount_pct__isnull=True)
                | Q(discount_pct__gte=0, discount_pct__lte=100),
                name="action_discount_range",
            ),
            models.CheckConstraint(condition=Q(risk__lte=100), name="action_risk_range"),
            # A hard stop is blocked for ever; only a blocked action is a hard stop.
            models.CheckConstraint(
                condition=Q(category=Category.HARD_STOP, status=ActionStatus.BLOCKED)
                | (~Q(category=Category.HARD_STOP) & ~Q(status=ActionStatus.BLOCKED)),
                name="action_hard_stop_blocked",
            ),
            models.CheckConstraint(
                condition=~Q(status=ActionStatus.PENDING) | Q(expires_at__isnull=False),
                name="action_pending_expires",
            ),
            # A human decision names who made it and when; a rejection says why.
            models.CheckConstraint(
                condition=~Q(status=ActionStatus.REJECTED)
                | (Q(decided_by__isnull=False, decided_at__isnull=False) & ~Q(decision_reason="")),
                name="action_rejection_explained",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "expires_at"]),
            models.Index(fields=["status", "-risk"]),
            models.Index(fields=["status", "-decided_at"]),
            models.Index(fields=["action_type", "status"]),
            models.Index(fields=["account", "proposed_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.action_type}:{self.external_id}"

    @property
    def value(self) -> Decimal | None:
        """What is at stake: the action's amount, else its deal's amount."""
        if self.amount is not None:
            return self.amount
        return self.deal.amount if self.deal_id else None

    @property
    def risk_level(self) -> str:
        return "high" if self.risk >= 60 else "medium" if self.risk >= 30 else "low"


class EventKind(models.TextChoices):
    PROPOSED = "proposed", "Proposed"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    EXPIRED = "expired", "Expired"
    EXECUTED = "executed", "Result reported"


class ActionEvent(models.Model):
    """One line of a proposed action's audit trail: who did what, when, why, from where.

    Append-only: a database trigger refuses UPDATE, and the admin shows it read-only.
    """

    action = models.ForeignKey(ProposedAction, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=10, choices=EventKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    actor_label = models.CharField(max_length=150)
    via = models.CharField(max_length=20, blank=True)  # api, page, bulk, guardrails, expiry
    reason = models.TextField(blank=True)
    rules = models.JSONField(default=list, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=EventKind.values), name="event_kind_valid"),
        ]
        indexes = [models.Index(fields=["action", "created_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} by {self.actor_label}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"


class WebhookDelivery(models.Model):
    """One decision notice POSTed to the org's webhook, with every attempt in ``attempt_log``."""

    action = models.ForeignKey(
        ProposedAction, on_delete=models.CASCADE, related_name="webhook_deliveries"
    )
    event = models.CharField(max_length=20)
    url = models.URLField()
    body = models.TextField()
    status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    attempt_log = models.JSONField(default=list, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=DeliveryStatus.values), name="delivery_status_valid"
            ),
        ]
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self) -> str:
        return f"{self.event} → {self.url} ({self.status})"
