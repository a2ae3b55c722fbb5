from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q


class GoalType(models.TextChoices):
    PIPELINE = "pipeline", "Pipeline (open deal value created)"
    ACTIVITY = "activity", "Activity (agent actions)"
    QUALITY = "quality", "Quality (% positive outcomes)"
    REVENUE = "revenue", "Revenue (closed-won value)"


class GoalStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    COMPLETED = "completed", "Completed"
    MISSED = "missed", "Missed"


class Goal(models.Model):
    """A measurable target for a period, for the team, one rep (owner) or one agent clone.

    ``current_value`` is recomputed from the data (see ``services.goals_progress_refresh``):
    pipeline = value of open deals created in the period, activity = agent actions in the
    period, quality = % of decided actions with a positive outcome, revenue = value of deals
    won in the period. An active goal completes when current ≥ target and is missed when
    its period ends short. The period runs from ``period_start`` to ``period_end``, both
    days included (UTC).
    """

    name = models.CharField(max_length=200)
    goal_type = models.CharField(max_length=20, choices=GoalType.choices)
    target = models.DecimalField(max_digits=14, decimal_places=2)
    current_value = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    period_start = models.DateField()
    period_end = models.DateField()
    clone = models.ForeignKey(
        "agents.Clone", null=True, blank=True, on_delete=models.CASCADE, related_name="goals"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="goals",
    )
    status = models.CharField(max_length=10, choices=GoalStatus.choices, default=GoalStatus.ACTIVE)
    completed_at = models.DateTimeField(null=True, blank=True)
    progress_updated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["period_end", "name"]
        constraints = [
            models.CheckConstraint(condition=Q(target__gt=0), name="goal_target_positive"),
            models.CheckConstraint(
                condition=Q(period_end__gt=F("period_start")), name="goal_period_order"
            ),
            models.CheckConstraint(
                condition=Q(goal_type__in=GoalType.values), name="goal_type_valid"
            ),
            models.CheckConstraint(
                condition=Q(status__in=GoalStatus.values), name="goal_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(current_value__gte=0), name="goal_current_non_negative"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "period_end"]),
            models.Index(fields=["goal_type", "status"]),
            models.Index(fields=["clone", "status"]),
            models.Index(fields=["owner", "status"]),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.target is not None and self.target <= 0:
            errors["target"] = "The target must be greater than 0."
        elif self.goal_type == GoalType.QUALITY and self.target is not None and self.target > 100:
            errors["target"] = "A quality target is a percentage: at most 100."
        if self.period_start and self.period_end and self.period_end <= self.period_start:
            errors["period_end"] = "The period must end after it starts."
        if errors:
            raise ValidationError(errors)

    @property
    def progress_pct(self) -> int:
        """Progress towards the target, 0-100 (capped) for display."""
        if not self.target:
            return 0
        return int(min(Decimal(100), self.current_value * 100 / self.target))

    @property
    def is_percentage(self) -> bool:
        return self.goal_type == GoalType.QUALITY


class PerformanceSnapshot(models.Model):
    """One clone's figures for one day (UTC), kept by the hourly goal job for trends.

    pipeline_value: value of open deals created that day on accounts of the clone's owner;
    activity_count: the clone's actions that day; quality_rate: share (0-1) of that day's
    decided actions with a positive outcome (None when none was decided); revenue_value:
    deals won that day on the owner's accounts.
    """

    clone = models.ForeignKey(
        "agents.Clone", on_delete=models.CASCADE, related_name="performance_snapshots"
    )
    day = models.DateField()
    pipeline_value = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    activity_count = models.PositiveIntegerField(default=0)
    decided_count = models.PositiveIntegerField(default=0)
    positive_count = models.PositiveIntegerField(default=0)
    quality_rate = models.FloatField(null=True, blank=True)
    revenue_value = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["clone", "-day"]
        constraints = [
            models.UniqueConstraint(fields=["clone", "day"], name="snapshot_clone_day_unique"),
            models.CheckConstraint(
                condition=Q(quality_rate__isnull=True)
                | Q(quality_rate__gte=0, quality_rate__lte=1),
                name="snapshot_quality_range",
            ),
        ]
        indexes = [models.Index(fields=["day"])]

    def __str__(self) -> str:
        return f"{self.clone} on {self.day}"
