from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q


class FeedbackKind(models.TextChoices):
    INLINE = "inline", "Inline (−1 / 0 / +1)"
    DASHBOARD = "dashboard", "Detailed (1–5)"


class FeedbackSource(models.TextChoices):
    """Where a rating was given (the seed's ``feedback_source``)."""

    MODAL = "modal", "Inline widget"
    DASHBOARD = "dashboard", "Detailed form"
    EMAIL = "email", "Email link"
    API = "api", "API"


class AspectPolarity(models.TextChoices):
    POSITIVE = "positive", "Positive"
    NEGATIVE = "negative", "Negative"


class ErrorCategory(models.TextChoices):
    """What went wrong with an output, when something did (the seed's error context)."""

    FACTUAL = "factual", "Wrong facts"
    RECIPIENT = "recipient", "Wrong person or account"
    TONE = "tone", "Wrong tone"
    POLICY = "policy", "Against policy or guardrails"
    FORMATTING = "formatting", "Broken formatting"
    OTHER = "other", "Something else"


class FeedbackAspect(models.Model):
    """A tag a rater can pick to say what was good or bad about an output.

    The organisation edits the list in Django admin; a retired aspect (inactive) stays on
    the entries that carry it but is no longer offered.
    """

    code = models.SlugField(max_length=40, unique=True)
    label = models.CharField(max_length=80)
    polarity = models.CharField(max_length=10, choices=AspectPolarity.choices)
    is_active = models.BooleanField(default=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["polarity", "position", "label"]
        constraints = [
            models.CheckConstraint(
                condition=Q(polarity__in=AspectPolarity.values), name="feedback_aspect_polarity"
            ),
        ]

    def __str__(self) -> str:
        return self.label


# The rating scale of each kind; the API, the forms and a CheckConstraint all follow it.
RATING_SCALES: dict[str, tuple[int, int]] = {
    FeedbackKind.INLINE: (-1, 1),
    FeedbackKind.DASHBOARD: (1, 5),
}


def _optional_range(field: str, low: int, high: int) -> models.CheckConstraint:
    return models.CheckConstraint(
        condition=Q(**{f"{field}__isnull": True})
        | Q(**{f"{field}__gte": low, f"{field}__lte": high}),
        name=f"feedback_{field}_range",
    )


class FeedbackEntry(models.Model):
    """A person's rating of one agent output (an OutcomeRecord).

    ``inline`` is the one-click −1 / 0 / +1 verdict; ``dashboard`` is the detailed 1–5
    rating with an optional comment and the optional dimensions of the detailed form
    (usefulness, quality, clarity 1–5, likelihood to reuse 1–10, would recommend).
    One entry per user, outcome and kind: rating again updates it.
    """

    outcome = models.ForeignKey(
        "outcomes.OutcomeRecord", on_delete=models.CASCADE, related_name="feedback"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="feedback_entries"
    )
    kind = models.CharField(max_length=10, choices=FeedbackKind.choices)
    rating = models.SmallIntegerField()
    comment = models.TextField(blank=True, max_length=2000)
    usefulness = models.PositiveSmallIntegerField(null=True, blank=True)
    quality = models.PositiveSmallIntegerField(null=True, blank=True)
    clarity = models.PositiveSmallIntegerField(null=True, blank=True)
    likelihood_to_reuse = models.PositiveSmallIntegerField(null=True, blank=True)
    would_recommend = models.BooleanField(null=True, blank=True)
    aspects = models.ManyToManyField(FeedbackAspect, blank=True, related_name="entries")
    positive_notes = models.TextField(blank=True, max_length=2000)
    negative_notes = models.TextField(blank=True, max_length=2000)
    feature_requests = ArrayField(models.CharField(max_length=300), default=list, blank=True)
    error_category = models.CharField(max_length=20, choices=ErrorCategory.choices, blank=True)
    error_details = models.TextField(blank=True, max_length=2000)
    feedback_source = models.CharField(
        max_length=10, choices=FeedbackSource.choices, default=FeedbackSource.MODAL
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "feedback entries"
        ordering = ["-updated_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "outcome", "kind"], name="feedback_one_entry_per_user_outcome_kind"
            ),
            models.CheckConstraint(
                condition=Q(kind="inline", rating__gte=-1, rating__lte=1)
                | Q(kind="dashboard", rating__gte=1, rating__lte=5),
                name="feedback_rating_matches_kind",
            ),
            _optional_range("usefulness", 1, 5),
            _optional_range("quality", 1, 5),
            _optional_range("clarity", 1, 5),
            _optional_range("likelihood_to_reuse", 1, 10),
            models.CheckConstraint(
                condition=Q(feedback_source__in=FeedbackSource.values),
                name="feedback_source_valid",
            ),
            models.CheckConstraint(
                condition=Q(error_category="") | Q(error_category__in=ErrorCategory.values),
                name="feedback_error_category_valid",
            ),
            models.CheckConstraint(
                condition=Q(feature_requests__len__lte=10), name="feedback_feature_requests_max"
            ),
        ]
        indexes = [
            models.Index(fields=["outcome", "kind"]),
            models.Index(fields=["kind", "updated_at"]),
            models.Index(fields=["user", "updated_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} rated {self.outcome_id} {self.kind} {self.rating:+d}"


class LearningCategory(models.TextChoices):
    LENGTH = "length", "Length"
    PERSONA = "persona", "Persona settings"
    TIMING = "timing", "Timing"
    CALL_TO_ACTION = "call_to_action", "Call to action"
    PHRASING = "phrasing", "Phrasing"
    GENERAL = "general", "General"


class Learning(models.Model):
    """A coaching pattern: something the well-rated outputs of an action type share.

    Extracted from rated outputs (``signature`` names the pattern so that re-extraction
    updates it) or written by a manager. ``confidence_score`` is the Bayesian estimate of
    its success share over all its evidence (rated outputs at extraction plus recorded
    applications), 0.5 with none (see ``scoring``); ``decay_factor`` falls from 1.0 towards
    0.5 with the age of its last success. ``lift`` compares the outcomes it was applied to
    with comparable ones it was not (same action type, same week), with a 95 % interval;
    a learning whose whole interval is below zero is ``is_hurting`` and leaves the agent's
    list until a manager keeps it (``kept_at``) or retires it (``is_active`` false).
    The agent gets them ranked by relevance × confidence × decay.
    """

    signature = models.CharField(max_length=200, unique=True)
    title = models.CharField(max_length=200)
    category = models.CharField(
        max_length=20, choices=LearningCategory.choices, default=LearningCategory.GENERAL
    )
    guidance = models.TextField()
    action_type = models.ForeignKey(
        "outcomes.ActionType",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="learnings",
    )
    evidence = models.JSONField(default=dict, blank=True)
    source_outcomes = models.ManyToManyField(
        "outcomes.OutcomeRecord", blank=True, related_name="learnings"
    )
    relevance_score = models.FloatField(default=0.5)
    evidence_positive = models.FloatField(default=0)
    evidence_total = models.FloatField(default=0)
    application_count = models.PositiveIntegerField(default=0)
    success_points = models.FloatField(default=0)  # success = 1, partial = 0.5, failure = 0
    success_rate = models.FloatField(default=1.0)
    confidence_score = models.FloatField(default=0.5)
    decay_factor = models.FloatField(default=1.0)
    is_active = models.BooleanField(default=True)
    lift = models.FloatField(null=True, blank=True)
    lift_low = models.FloatField(null=True, blank=True)
    lift_high = models.FloatField(null=True, blank=True)
    lift_sample = models.PositiveIntegerField(default=0)
    lift_control_sample = models.PositiveIntegerField(default=0)
    lift_computed_at = models.DateTimeField(null=True, blank=True)
    is_hurting = models.BooleanField(default=False)
    kept_at = models.DateTimeField(null=True, blank=True)
    kept_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="learnings_written",
    )
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_applied_at = models.DateTimeField(null=True, blank=True)
    extracted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-confidence_score", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(category__in=LearningCategory.values), name="learning_category_valid"
            ),
            models.CheckConstraint(
                condition=Q(success_rate__gte=0, success_rate__lte=1),
                name="learning_success_rate_range",
            ),
            models.CheckConstraint(
                condition=Q(confidence_score__gte=0, confidence_score__lte=1),
                name="learning_confidence_range",
            ),
            models.CheckConstraint(
                condition=Q(decay_factor__gte=0.5, decay_factor__lte=1),
                name="learning_decay_range",
            ),
            models.CheckConstraint(
                condition=Q(relevance_score__gte=0, relevance_score__lte=1),
                name="learning_relevance_range",
            ),
            models.CheckConstraint(
                condition=Q(
                    success_points__gte=0, success_points__lte=models.F("application_count")
                ),
                name="learning_success_points_range",
            ),
            models.CheckConstraint(
                condition=Q(lift__isnull=True)
                | Q(lift__gte=-1, lift__lte=1, lift_low__lte=models.F("lift_high")),
                name="learning_lift_range",
            ),
        ]
        indexes = [
            models.Index(fields=["category", "is_active"]),
            models.Index(fields=["action_type", "is_active"]),
            # The seed's ranking index: the agent's list reads learnings by relevance first.
            models.Index(fields=["-relevance_score"], name="learning_relevance_desc"),
        ]

    def __str__(self) -> str:
        return self.title


class ApplicationOutcome(models.TextChoices):
    SUCCESS = "success", "Success"
    PARTIAL = "partial", "Partial"
    FAILURE = "failure", "Failure"


APPLICATION_POINTS: dict[str, float] = {
    ApplicationOutcome.SUCCESS: 1.0,
    ApplicationOutcome.PARTIAL: 0.5,
    ApplicationOutcome.FAILURE: 0.0,
}


class LearningApplication(models.Model):
    """One use of a learning by the agent (or a rep), and whether it worked."""

    learning = models.ForeignKey(Learning, on_delete=models.CASCADE, related_name="applications")
    outcome = models.CharField(max_length=10, choices=ApplicationOutcome.choices)
    outcome_record = models.ForeignKey(
        "outcomes.OutcomeRecord",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="learning_applications",
    )
    context = models.TextField(blank=True, max_length=2000)
    metadata = models.JSONField(default=dict, blank=True)
    applied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="learning_applications",
    )
    applied_at = models.DateTimeField()

    class Meta:
        ordering = ["-applied_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(outcome__in=ApplicationOutcome.values),
                name="learning_application_outcome_valid",
            ),
        ]
        indexes = [
            models.Index(fields=["learning", "applied_at"]),
            # Lift joins each use to its outcome.
            models.Index(
                fields=["outcome_record", "learning"],
                condition=Q(outcome_record__isnull=False),
                name="learning_application_outcome",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.learning_id} {self.outcome} at {self.applied_at:%Y-%m-%d %H:%M}"
