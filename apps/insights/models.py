from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q


class PatternType(models.TextChoices):
    BUYING_SIGNAL = "buying_signal", "Buying signal"
    RISK_INDICATOR = "risk_indicator", "Risk indicator"
    ENGAGEMENT_CHANGE = "engagement_change", "Engagement change"
    CROSS_ACCOUNT_PATTERN = "cross_account_pattern", "Cross-account pattern"


class Severity(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    CRITICAL = "critical", "Critical"


SEVERITY_RANK: dict[str, int] = {"low": 0, "medium": 1, "high": 2, "critical": 3}


class InsightStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    ACTED = "acted", "Acted on"
    DISMISSED = "dismissed", "Dismissed"


class DismissReason(models.TextChoices):
    NOT_RELEVANT = "not_relevant", "Not relevant"
    ALREADY_HANDLED = "already_handled", "Already handled"
    FALSE_POSITIVE = "false_positive", "Wrong signal"
    OTHER = "other", "Other"


class InsightSettings(models.Model):
    """The organisation's detection thresholds: one row per organisation, edited in admin.

    Managers tune these with the usefulness report: a pattern that is mostly marked
    "not useful" needs a stricter threshold.
    """

    buying_window_days = models.PositiveSmallIntegerField(
        default=7, validators=[MinValueValidator(1), MaxValueValidator(60)]
    )
    buying_min_signals = models.PositiveSmallIntegerField(
        default=2,
        validators=[MinValueValidator(1)],
        help_text="Inbound messages mentioning pricing, a demo, a contract… within the window.",
    )
    buying_min_stakeholders = models.PositiveSmallIntegerField(
        default=3,
        validators=[MinValueValidator(2)],
        help_text="Distinct customer contacts writing in within the window.",
    )
    negative_streak_length = models.PositiveSmallIntegerField(
        default=3, validators=[MinValueValidator(2), MaxValueValidator(20)]
    )
    negative_sentiment_below = models.FloatField(
        default=-0.2, validators=[MinValueValidator(-1), MaxValueValidator(0)]
    )
    stall_factor = models.FloatField(
        default=2.0,
        validators=[MinValueValidator(1)],
        help_text="A deal is stalled when it has been in its stage this many times the org's median.",
    )
    stall_min_days = models.PositiveSmallIntegerField(default=14)
    stall_default_median_days = models.PositiveSmallIntegerField(
        default=21, help_text="Median used for a stage with fewer than 3 completed stays."
    )
    champion_min_interactions = models.PositiveSmallIntegerField(
        default=3, validators=[MinValueValidator(2)]
    )
    champion_silent_days = models.PositiveSmallIntegerField(
        default=21, validators=[MinValueValidator(1)]
    )
    engagement_change_pct = models.PositiveSmallIntegerField(
        default=50,
        validators=[MinValueValidator(10), MaxValueValidator(1000)],
        help_text="Change in the daily interaction rate (last 14 days vs the 30 before).",
    )
    engagement_min_interactions = models.PositiveSmallIntegerField(
        default=4, help_text="Ignore accounts with fewer interactions in either period."
    )
    cross_account_min_accounts = models.PositiveSmallIntegerField(
        default=3, validators=[MinValueValidator(2)]
    )
    cross_account_window_days = models.PositiveSmallIntegerField(
        default=7, validators=[MinValueValidator(1), MaxValueValidator(60)]
    )
    deal_inactive_days = models.PositiveSmallIntegerField(
        default=14,
        validators=[MinValueValidator(1), MaxValueValidator(365)],
        help_text="An open deal with no interaction on it (or on its account) for this long.",
    )
    close_date_grace_days = models.PositiveSmallIntegerField(
        default=0,
        validators=[MaxValueValidator(90)],
        help_text="Days past an open deal's expected close date before it is flagged.",
    )
    single_thread_window_days = models.PositiveSmallIntegerField(
        default=30,
        validators=[MinValueValidator(7), MaxValueValidator(180)],
        help_text="An open deal is single-threaded when only one contact wrote in this long.",
    )
    redetect_after_days = models.PositiveSmallIntegerField(
        default=7, help_text="A closed insight is not raised again for the same signal before this."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "insight settings"
        verbose_name_plural = "insight settings"
        constraints = [
            models.CheckConstraint(condition=Q(id=1), name="insight_settings_singleton"),
            models.CheckConstraint(
                condition=Q(negative_sentiment_below__gte=-1, negative_sentiment_below__lte=0),
                name="insight_settings_sentiment_range",
            ),
            models.CheckConstraint(
                condition=Q(stall_factor__gte=1), name="insight_settings_stall_factor_min"
            ),
        ]

    def __str__(self) -> str:
        return "Insight thresholds"


class Insight(models.Model):
    """A pattern found in an account's signals, waiting for a person to act on or dismiss.

    Per-account patterns name their ``account``; a cross-account pattern names an
    ``industry`` instead. At most one pending insight exists per account and pattern type
    (and per industry and signal for cross-account patterns).
    """

    account = models.ForeignKey(
        "crm.Account", null=True, blank=True, on_delete=models.CASCADE, related_name="insights"
    )
    industry = models.CharField(max_length=100, blank=True)
    pattern_type = models.CharField(max_length=30, choices=PatternType.choices)
    signal = models.CharField(max_length=50, help_text="Which detector rule fired.")
    title = models.CharField(max_length=200)
    confidence = models.FloatField(validators=[MinValueValidator(0), MaxValueValidator(1)])
    severity = models.CharField(max_length=10, choices=Severity.choices)
    evidence = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        max_length=10, choices=InsightStatus.choices, default=InsightStatus.PENDING
    )
    detected_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="resolved_insights",
    )
    dismiss_reason = models.CharField(max_length=20, choices=DismissReason.choices, blank=True)
    resolution_note = models.TextField(blank=True)

    class Meta:
        ordering = ["-detected_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(confidence__gte=0, confidence__lte=1), name="insight_confidence_range"
            ),
            models.CheckConstraint(
                condition=Q(severity__in=Severity.values), name="insight_severity_valid"
            ),
            models.CheckConstraint(
                condition=Q(pattern_type__in=PatternType.values), name="insight_pattern_valid"
            ),
            models.CheckConstraint(
                condition=Q(status__in=InsightStatus.values), name="insight_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(status="pending", resolved_at__isnull=True)
                | (~Q(status="pending") & Q(resolved_at__isnull=False)),
                name="insight_resolution_consistent",
            ),
            models.CheckConstraint(
                condition=~Q(status="dismissed") | ~Q(dismiss_reason=""),
                name="insight_dismissal_has_reason",
            ),
            models.CheckConstraint(
                condition=Q(account__isnull=False) | ~Q(industry=""),
                name="insight_has_subject",
            ),
            models.UniqueConstraint(
                fields=["account", "pattern_type"],
                condition=Q(status="pending", account__isnull=False),
                name="insight_one_open_per_account_pattern",
            ),
            models.UniqueConstraint(
                fields=["industry", "signal"],
                condition=Q(status="pending", pattern_type="cross_account_pattern"),
                name="insight_one_open_cross_account_per_industry_signal",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "detected_at"]),
            models.Index(fields=["account", "status"]),
            models.Index(fields=["pattern_type", "severity", "status"]),
            GinIndex(fields=["evidence"], name="insight_evidence_gin"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_pending(self) -> bool:
        return self.status == InsightStatus.PENDING

    @property
    def subject(self) -> str:
        return self.account.name if self.account_id else f"{self.industry.title()} accounts"


class AlertFeedback(models.Model):
    """Whether an insight was useful to a person: the data for tuning the thresholds.

    One entry per insight and user; giving feedback again updates it.
    """

    insight = models.ForeignKey(Insight, on_delete=models.CASCADE, related_name="feedback")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="alert_feedback"
    )
    useful = models.BooleanField()
    comment = models.TextField(blank=True, max_length=2000)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]
        constraints = [
            models.UniqueConstraint(fields=["insight", "user"], name="alert_feedback_one_per_user")
        ]
        indexes = [models.Index(fields=["useful"])]

    def __str__(self) -> str:
        return f"{'useful' if self.useful else 'not useful'}: {self.insight_id}"


class DigestDelivery(models.Model):
    """A daily digest sent to a user for a day, so that re-running the job sends none twice."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="insight_digests"
    )
    day = models.DateField()
    insight_count = models.PositiveIntegerField()
    sent_at = models.DateTimeField()

    class Meta:
        ordering = ["-day"]
        constraints = [
            models.UniqueConstraint(fields=["user", "day"], name="digest_one_per_user_day")
        ]

    def __str__(self) -> str:
        return f"digest {self.day} → {self.user_id}"


class AlertChannel(models.TextChoices):
    """How a person hears of a new insight of one severity (each includes the quieter ones
    that make sense: an emailed insight also pops up live and is in the daily digest)."""

    LIVE = "live", "Live in the app (and in the digest)"
    EMAIL = "email", "Email at once (and live, and in the digest)"
    DIGEST = "digest", "Daily digest only"
    NONE = "none", "Only in the inbox"


# What a person gets before choosing: critical by email at once, high live, the rest in the
# digest. The one statement of the defaults; the preferences page and delivery read it.
DEFAULT_ALERT_CHANNELS: dict[str, str] = {
    Severity.CRITICAL: AlertChannel.EMAIL,
    Severity.HIGH: AlertChannel.LIVE,
    Severity.MEDIUM: AlertChannel.DIGEST,
    Severity.LOW: AlertChannel.DIGEST,
}
LIVE_CHANNELS = frozenset({AlertChannel.LIVE, AlertChannel.EMAIL})
DIGEST_CHANNELS = frozenset({AlertChannel.LIVE, AlertChannel.EMAIL, AlertChannel.DIGEST})


class AlertPreference(models.Model):
    """A person's choice of how to hear of new insights of one severity.

    No row means the default of ``DEFAULT_ALERT_CHANNELS``.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="alert_preferences"
    )
    severity = models.CharField(max_length=10, choices=Severity.choices)
    channel = models.CharField(max_length=10, choices=AlertChannel.choices)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["user", "severity"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "severity"], name="alert_preference_one_per_severity"
            ),
            models.CheckConstraint(
                condition=Q(severity__in=Severity.values), name="alert_preference_severity_valid"
            ),
            models.CheckConstraint(
                condition=Q(channel__in=AlertChannel.values), name="alert_preference_channel_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.severity} → {self.channel}"


class AlertDelivery(models.Model):
    """An insight sent at once to a person by email, or to the organisation's chat
    (``user`` empty): claimed before sending, so that a re-run never sends it twice."""

    insight = models.ForeignKey(Insight, on_delete=models.CASCADE, related_name="deliveries")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="alert_deliveries",
    )
    channel = models.CharField(max_length=10)
    sent_at = models.DateTimeField()

    class Meta:
        ordering = ["-sent_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["insight", "user", "channel"],
                condition=Q(user__isnull=False),
                name="alert_delivery_once_per_person",
            ),
            models.UniqueConstraint(
                fields=["insight", "channel"],
                condition=Q(user__isnull=True),
                name="alert_delivery_once_per_org_channel",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.insight_id} → {self.user_id or 'chat'} ({self.channel})"
