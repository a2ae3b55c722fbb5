"""Rubrics, review queues, scores, corrections and settlements.

A rubric is a score configuration; a queue samples agent outputs (outcomes) into review
items that K distinct reviewers score; a correction is the output the agent should have
written; a settlement is a manager's verdict where reviewers disagree.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class RubricKind(models.TextChoices):
    NUMERIC = "numeric", "Numeric (min / max / step)"
    CATEGORICAL = "categorical", "Categorical (labels)"
    BOOLEAN = "boolean", "Yes / no"


class BuiltinRubric(models.TextChoices):
    """The two ratings that existed before rubrics; their values stay in FeedbackEntry."""

    INLINE = "inline", "Inline rating (−1 / 0 / +1)"
    DASHBOARD = "dashboard", "Detailed rating (1–5)"


class Rubric(models.Model):
    """A score configuration of the organisation: what reviewers score and on which scale.

    Numeric rubrics take values from ``min_value`` to ``max_value`` in steps of ``step``;
    categorical ones one of ``labels`` (stored as the label's index); boolean ones 0 or 1.
    The built-in rubrics (``builtin`` set) are the inline and detailed ratings: their human
    scores are the FeedbackEntry rows of that kind, so nothing stored changes meaning.
    """

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=12, choices=RubricKind.choices)
    description = models.TextField(blank=True, max_length=2000)
    min_value = models.FloatField(null=True, blank=True)
    max_value = models.FloatField(null=True, blank=True)
    step = models.FloatField(null=True, blank=True)
    labels = models.JSONField(default=list, blank=True)
    builtin = models.CharField(
        max_length=10, choices=BuiltinRubric.choices, null=True, blank=True, unique=True
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-is_active", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=RubricKind.values), name="rubric_kind_valid"
            ),
            models.CheckConstraint(
                condition=~Q(kind="numeric")
                | Q(
                    min_value__isnull=False,
                    max_value__isnull=False,
                    step__gt=0,
                    max_value__gt=models.F("min_value"),
                ),
                name="rubric_numeric_has_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Origin(models.TextChoices):
    """How an action came about: recorded by the agent on its own (autonomous), or executed
    after a proposal went through approvals (its outcome's metadata names the proposal)."""

    DIRECT = "direct", "Autonomous (recorded by the agent)"
    PROPOSED = "proposed", "Proposed, then executed"


class ReviewQueue(models.Model):
    """A sampled stream of agent outputs, assigned to reviewers, each reviewed K times.

    The entry rule: action types and clones (none = any), a confidence range, an outcome
    status and an origin (blank = any), and a sampling rate in basis points (1000 = 10 %).
    Sampling is a hash of (queue, outcome), so re-running the fill admits the same outcomes.
    """

    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True, max_length=2000)
    rubrics = models.ManyToManyField(Rubric, related_name="queues")
    action_types = models.ManyToManyField(
        "outcomes.ActionType", blank=True, related_name="review_queues"
    )
    clones = models.ManyToManyField("agents.Clone", blank=True, related_name="review_queues")
    min_confidence = models.FloatField(null=True, blank=True)
    max_confidence = models.FloatField(null=True, blank=True)
    outcome_status = models.CharField(max_length=10, blank=True)
    origin = models.CharField(max_length=10, choices=Origin.choices, blank=True)
    sample_rate_bp = models.PositiveIntegerField(default=10000)
    reviewers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="review_queues"
    )
    reviewer_roles = models.JSONField(default=list, blank=True)
    reviews_needed = models.PositiveSmallIntegerField(default=1)
    disagreement_threshold = models.FloatField(default=0.25)
    is_active = models.BooleanField(default=True)
    filled_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-is_active", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(reviews_needed__gte=1, reviews_needed__lte=3),
                name="queue_reviews_needed_range",
            ),
            models.CheckConstraint(
                condition=Q(sample_rate_bp__gte=0, sample_rate_bp__lte=10000),
                name="queue_sample_rate_range",
            ),
            models.CheckConstraint(
                condition=Q(min_confidence__isnull=True)
                | Q(min_confidence__gte=0, min_confidence__lte=1),
                name="queue_min_confidence_range",
            ),
            models.CheckConstraint(
                condition=Q(max_confidence__isnull=True)
                | Q(max_confidence__gte=0, max_confidence__lte=1),
                name="queue_max_confidence_range",
            ),
            models.CheckConstraint(
                condition=Q(disagreement_threshold__gte=0, disagreement_threshold__lte=1),
                name="queue_disagreement_threshold_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ReviewItem(models.Model):
    """One outcome admitted to one queue (once: the fill is idempotent)."""

    queue = models.ForeignKey(ReviewQueue, on_delete=models.CASCADE, related_name="items")
    outcome = models.ForeignKey(
        "outcomes.OutcomeRecord", on_delete=models.CASCADE, related_name="review_items"
    )
    reviews_done = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["queue", "outcome"], name="review_item_unique"),
        ]
        indexes = [
            models.Index(fields=["queue", "reviews_done", "id"]),
            models.Index(fields=["outcome"]),
        ]

    def __str__(self) -> str:
        return f"{self.queue_id}:{self.outcome_id}"


class ReviewStatus(models.TextChoices):
    DONE = "done", "Reviewed"
    SKIPPED = "skipped", "Skipped"


class Review(models.Model):
    """One reviewer's pass over one item: reviewed (with scores) or skipped."""

    item = models.ForeignKey(ReviewItem, on_delete=models.CASCADE, related_name="reviews")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reviews"
    )
    status = models.CharField(max_length=10, choices=ReviewStatus.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["item", "reviewer"], name="review_one_per_reviewer"),
            models.CheckConstraint(
                condition=Q(status__in=ReviewStatus.values), name="review_status_valid"
            ),
        ]
        indexes = [models.Index(fields=["reviewer", "created_at"])]

    def __str__(self) -> str:
        return f"{self.reviewer_id} {self.status} {self.item_id}"


class ScoreSource(models.TextChoices):
    HUMAN = "human", "Person"
    API = "api", "Automated evaluator"


class Score(models.Model):
    """A value on a rubric for one agent output, from a person or an automated evaluator.

    A person's score is unique per (outcome, rubric, user); an evaluator's per (outcome,
    rubric, evaluator name): scoring again updates it. Human scores on the built-in
    rubrics live in FeedbackEntry instead (see Rubric).
    """

    outcome = models.ForeignKey(
        "outcomes.OutcomeRecord", on_delete=models.CASCADE, related_name="scores"
    )
    rubric = models.ForeignKey(Rubric, on_delete=models.PROTECT, related_name="scores")
    value = models.FloatField()
    source = models.CharField(max_length=5, choices=ScoreSource.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="scores",
    )
    evaluator = models.CharField(max_length=100, blank=True)
    comment = models.TextField(blank=True, max_length=2000)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(source="human", user__isnull=False)
                | Q(source="api", user__isnull=True),
                name="score_source_matches_author",
            ),
            models.UniqueConstraint(
                fields=["outcome", "rubric", "user"],
                condition=Q(source="human"),
                name="score_one_per_person",
            ),
            models.UniqueConstraint(
                fields=["outcome", "rubric", "evaluator"],
                condition=Q(source="api"),
                name="score_one_per_evaluator",
            ),
        ]
        indexes = [models.Index(fields=["rubric", "updated_at"])]

    def __str__(self) -> str:
        return f"{self.rubric_id}={self.value:g} on {self.outcome_id}"


class Correction(models.Model):
    """The output the agent should have produced, written by a reviewer or an approver.

    Keeps the original text as it was and a unified diff against it. One per (outcome,
    author): correcting again updates it. An approver's edit of a proposed action (approve
    with edits) is a correction too, recorded at the decision: ``action_ref`` names the
    action (one correction per action), ``action_type`` and ``clone`` say what it is an
    example of, and ``outcome`` is set once the agent reports the action executed.
    """

    outcome = models.ForeignKey(
        "outcomes.OutcomeRecord",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="corrections",
    )
    action_ref = models.CharField(max_length=200, blank=True, default="")
    action_type = models.CharField(max_length=50, blank=True, default="")
    clone = models.ForeignKey(
        "agents.Clone", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="corrections"
    )
    original_text = models.TextField(blank=True)
    corrected_text = models.TextField(max_length=20000)
    diff = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["outcome", "author"],
                condition=Q(action_ref=""),
                name="correction_one_per_author",
            ),
            models.UniqueConstraint(
                fields=["action_ref"],
                condition=~Q(action_ref=""),
                name="correction_one_per_action",
            ),
            models.CheckConstraint(
                condition=Q(outcome__isnull=False) | ~Q(action_ref=""),
                name="correction_of_outcome_or_action",
            ),
        ]
        indexes = [models.Index(fields=["-updated_at"])]

    def __str__(self) -> str:
        return f"correction of {self.outcome_id} by {self.author_id}"


class Settlement(models.Model):
    """A manager's value for an item's rubric where reviewers disagreed: the item's score."""

    item = models.ForeignKey(ReviewItem, on_delete=models.CASCADE, related_name="settlements")
    rubric = models.ForeignKey(Rubric, on_delete=models.CASCADE, related_name="settlements")
    value = models.FloatField()
    settled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    settled_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["item", "rubric"], name="settlement_one_per_rubric"),
        ]

    def __str__(self) -> str:
        return f"{self.item_id}/{self.rubric_id} settled at {self.value:g}"
