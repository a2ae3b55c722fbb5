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
from django.contrib.postgres.indexes import GinIndex
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from apps.tenancy.outbound import validate_outbound_url

DEFAULT_TIMEOUT_HOURS = 48


class ApprovalSettings(models.Model):
    """The organisation's approval settings: one row per organisation (schema).

    Pending actions expire after ``timeout_hours``; decisions are POSTed to
    ``webhook_url`` signed with HMAC-SHA256 of ``timestamp.body`` under ``webhook_secret``
    (generated, at least 32 random bytes; after a rotation the previous secret also signs
    until ``webhook_previous_secret_until``). ``chat_webhook_url`` receives new approval
    requests as Slack-compatible JSON. Both URLs must be public (``apps.tenancy.outbound``).
    """

    singleton = models.BooleanField(default=True, unique=True, editable=False)
    timeout_hours = models.PositiveIntegerField(
        default=DEFAULT_TIMEOUT_HOURS,
        validators=[MinValueValidator(1), MaxValueValidator(24 * 30)],
        help_text="Pending actions expire after this many hours without a decision.",
    )
    webhook_url = models.URLField(
        blank=True,
        validators=[validate_outbound_url],
        help_text="Decisions are POSTed here as JSON. Leave empty to poll only. "
        "Must be a public http(s) address (https in production).",
    )
    webhook_secret = models.CharField(
        max_length=200,
        blank=True,
        help_text="Shared secret, generated when the webhook is set: the "
        "X-LearningLoop-Signature header is sha256=HMAC-SHA256(secret, timestamp + '.' + body) "
        "in hex, the timestamp in X-LearningLoop-Timestamp.",
    )
    webhook_previous_secret = models.CharField(max_length=200, blank=True, editable=False)
    webhook_previous_secret_until = models.DateTimeField(null=True, blank=True, editable=False)
    chat_webhook_url = models.URLField(
        blank=True,
        validators=[validate_outbound_url],
        help_text="Slack-compatible incoming-webhook URL: new approval requests are posted "
        "here with a link to the action. Must be a public http(s) address.",
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
    # What the agent must execute: the approver's edited version, else null (= payload).
    final_payload = models.JSONField(null=True, blank=True)
    edited = models.BooleanField(default=False)
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
    # From when the agent (poll and webhook) sees the decision: a browser decision can be
    # undone for a few seconds first. Null while pending.
    visible_at = models.DateTimeField(null=True, blank=True)
    executed_at = models.DateTimeField(null=True, blank=True)
    # When the new request was posted to the organisation's chat webhook (once).
    chat_posted_at = models.DateTimeField(null=True, blank=True)
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
            # The history page filters on payload keys (payload @> {...}).
            GinIndex(fields=["payload"], name="action_payload_gin"),
        ]

    def __str__(self) -> str:
        return f"{self.action_type}:{self.external_id}"

    @property
    def to_execute(self) -> dict:
        """The payload the agent must carry out: the edited one when an approver edited it."""
        return self.final_payload if self.final_payload is not None else self.payload

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
    UNDONE = "undone", "Decision undone"


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
    # A personal key made by someone else for the actor: that creator's username.
    key_created_by = models.CharField(max_length=150, blank=True)
    reason = models.TextField(blank=True)
    rules = models.JSONField(default=list, blank=True)
    # An approval with edits: [{"field", "before", "after"}], what the approver changed.
    changes = models.JSONField(default=list, blank=True)
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
    CANCELLED = "cancelled", "Cancelled (decision undone)"


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


class NoticeKind(models.TextChoices):
    NEW = "new", "New approval request"
    REMINDER = "reminder", "Reminder before expiry"
    ESCALATION = "escalation", "Escalation: still undecided"


class ApprovalNotice(models.Model):
    """One person told about one pending action, once per kind (new, reminder, escalation).

    The unique key makes the notification job idempotent: a re-run inserts nothing twice.
    The email's Approve / Reject links are signed over the notice, so a link is bound to
    its recipient and its action. ``on_behalf_of`` names the approver a delegate stands in for.
    """

    action = models.ForeignKey(ProposedAction, on_delete=models.CASCADE, related_name="notices")
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="approval_notices"
    )
    kind = models.CharField(max_length=12, choices=NoticeKind.choices)
    on_behalf_of = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["action", "recipient", "kind"], name="notice_once_per_kind"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=NoticeKind.values), name="notice_kind_valid"
            ),
        ]
        indexes = [models.Index(fields=["recipient", "kind", "created_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} to {self.recipient_id} about {self.action_id}"


class ApprovalDelegation(models.Model):
    """Out of office: from ``starts_on`` to ``ends_on`` (inclusive) ``delegate`` gets this
    person's approval notifications and may decide in their place."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="delegations_given"
    )
    delegate = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="delegations_received"
    )
    starts_on = models.DateField()
    ends_on = models.DateField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-starts_on"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__gte=models.F("starts_on")), name="delegation_dates_ordered"
            ),
            models.CheckConstraint(
                condition=~Q(user=models.F("delegate")), name="delegation_not_to_self"
            ),
        ]
        indexes = [models.Index(fields=["delegate", "starts_on", "ends_on"])]

    def __str__(self) -> str:
        return f"{self.user_id} → {self.delegate_id} ({self.starts_on}–{self.ends_on})"
