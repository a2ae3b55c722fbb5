from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q

from apps.crm.times import EARLIEST, LATEST_STORABLE


class Account(models.Model):
    """A customer company, mirrored from the CRM and referenced by its CRM ``external_id``."""

    external_id = models.CharField(max_length=100, unique=True)
    name = models.CharField(max_length=200)
    industry = models.CharField(max_length=100, blank=True, db_index=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="accounts",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["owner", "name"])]

    def __str__(self) -> str:
        return self.name


class DealStage(models.TextChoices):
    PROSPECTING = "prospecting", "Prospecting"
    QUALIFICATION = "qualification", "Qualification"
    DISCOVERY = "discovery", "Discovery"
    PROPOSAL = "proposal", "Proposal"
    NEGOTIATION = "negotiation", "Negotiation"
    CLOSED_WON = "closed_won", "Closed won"
    CLOSED_LOST = "closed_lost", "Closed lost"


# Position of each open stage in the pipeline; "stages advanced" is a difference of these.
# Closed-won counts as the last step; closed-lost is not an advance.
STAGE_ORDER: dict[str, int] = {
    DealStage.PROSPECTING: 0,
    DealStage.QUALIFICATION: 1,
    DealStage.DISCOVERY: 2,
    DealStage.PROPOSAL: 3,
    DealStage.NEGOTIATION: 4,
    DealStage.CLOSED_WON: 5,
}
CLOSED_STAGES = {DealStage.CLOSED_WON, DealStage.CLOSED_LOST}


class Deal(models.Model):
    """An opportunity on an account; its stage history is kept in DealStageChange."""

    external_id = models.CharField(max_length=100, unique=True)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="deals")
    name = models.CharField(max_length=200)
    stage = models.CharField(
        max_length=20, choices=DealStage.choices, default=DealStage.PROSPECTING
    )
    amount = models.DecimalField(
        max_digits=14,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    stage_changed_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    close_date = models.DateField(
        null=True, blank=True, help_text="When the deal is expected to close (from the CRM)."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="deal_amount_non_negative"),
            models.CheckConstraint(
                condition=Q(stage__in=DealStage.values), name="deal_stage_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["stage", "stage_changed_at"]),
            models.Index(fields=["created_at"]),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_closed(self) -> bool:
        return self.stage in CLOSED_STAGES


class DealStageChange(models.Model):
    """One move of a deal from one stage to another, with when it happened."""

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="stage_changes")
    from_stage = models.CharField(max_length=20, choices=DealStage.choices, blank=True)
    to_stage = models.CharField(max_length=20, choices=DealStage.choices)
    changed_at = models.DateTimeField()

    class Meta:
        ordering = ["changed_at"]
        indexes = [models.Index(fields=["deal", "changed_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(changed_at__gte=EARLIEST, changed_at__lt=LATEST_STORABLE),
                name="deal_stage_change_at_range",
            )
        ]

    def __str__(self) -> str:
        return f"{self.from_stage or 'new'} → {self.to_stage}"


class Channel(models.TextChoices):
    EMAIL = "email", "Email"
    CHAT = "chat", "Chat"
    MEETING = "meeting", "Meeting"
    CRM = "crm", "CRM"


class Direction(models.TextChoices):
    INBOUND = "inbound", "Inbound"
    OUTBOUND = "outbound", "Outbound"


class Interaction(models.Model):
    """A customer signal on an account: an email, chat, meeting or CRM event.

    Interactions resolve outcomes (an inbound email answers an ``email_sent``) and feed
    insight detection. A ``crm`` interaction with a deal and a stage records a stage change.
    """

    external_id = models.CharField(max_length=100, null=True, blank=True, unique=True)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="interactions")
    deal = models.ForeignKey(
        Deal, null=True, blank=True, on_delete=models.SET_NULL, related_name="interactions"
    )
    channel = models.CharField(max_length=10, choices=Channel.choices)
    direction = models.CharField(max_length=10, choices=Direction.choices)
    occurred_at = models.DateTimeField()
    sentiment = models.FloatField(null=True, blank=True)
    summary = models.TextField(blank=True)
    key_points = models.JSONField(default=list, blank=True)
    contact_name = models.CharField(max_length=200, blank=True)
    contact_title = models.CharField(max_length=200, blank=True)
    # Who, and in answer to what: the person (an address or CRM contact id), the
    # external_id of the outcome an inbound message answers, and the mail thread.
    contact = models.CharField(max_length=200, blank=True, default="")
    in_reply_to = models.CharField(max_length=200, blank=True, default="")
    thread_id = models.CharField(max_length=200, blank=True, default="")
    stage = models.CharField(max_length=20, choices=DealStage.choices, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-occurred_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(channel__in=Channel.values), name="interaction_channel_valid"
            ),
            models.CheckConstraint(
                condition=Q(direction__in=Direction.values), name="interaction_direction_valid"
            ),
            models.CheckConstraint(
                condition=Q(sentiment__isnull=True) | Q(sentiment__gte=-1, sentiment__lte=1),
                name="interaction_sentiment_range",
            ),
            models.CheckConstraint(
                condition=Q(occurred_at__gte=EARLIEST, occurred_at__lt=LATEST_STORABLE),
                name="interaction_occurred_at_range",
            ),
        ]
        indexes = [
            models.Index(fields=["account", "occurred_at"]),
            models.Index(fields=["channel", "direction", "occurred_at"]),
            models.Index(fields=["occurred_at"]),
            # Late signals: what arrived recently, whatever time it says it happened.
            models.Index(fields=["created_at"], name="interaction_arrived"),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} {self.direction} on {self.account_id} at {self.occurred_at:%Y-%m-%d %H:%M}"
