"""Dashboards read other apps' tables; the one table of their own is the pattern rollup."""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class PatternRollup(models.Model):
    """Pattern analytics of one action type (source 003), kept by the ``refresh_analytics`` job.

    A summary table rather than a materialized view: a view over ``outcomes`` and
    ``feedback`` tables would block every later migration that alters a column it reads
    (PostgreSQL refuses to change a column a view depends on) and would tie this app's
    migrations to the other apps' migration order. The job rewrites every row with one
    set-based ``INSERT … SELECT … ON CONFLICT DO UPDATE``, so readers never see a partial
    refresh and the page reads a handful of rows instead of aggregating millions.
    """

    action_type = models.OneToOneField(
        "outcomes.ActionType", on_delete=models.CASCADE, related_name="pattern_rollup"
    )
    total = models.PositiveIntegerField(default=0)
    last_7_days = models.PositiveIntegerField(default=0)
    last_30_days = models.PositiveIntegerField(default=0)
    decided = models.PositiveIntegerField(default=0)
    succeeded = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(
        default=0, help_text="Expired: no customer signal within the action's window."
    )
    success_rate = models.FloatField(null=True, blank=True)
    mean_score = models.FloatField(null=True, blank=True)
    ratings = models.PositiveIntegerField(default=0, help_text="Detailed (1-5) ratings.")
    mean_satisfaction = models.FloatField(null=True, blank=True)
    mean_likelihood_to_reuse = models.FloatField(null=True, blank=True)
    would_recommend = models.PositiveIntegerField(default=0)
    mean_usefulness = models.FloatField(
        null=True, blank=True, help_text="Mean usefulness (1-5) of the detailed ratings."
    )
    last_activity_at = models.DateTimeField(
        null=True, blank=True, help_text="Latest action of this type or feedback on one."
    )
    refreshed_at = models.DateTimeField()

    class Meta:
        ordering = ["action_type__code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(success_rate__isnull=True)
                | Q(success_rate__gte=0, success_rate__lte=1),
                name="pattern_rollup_success_rate_range",
            ),
            models.CheckConstraint(
                condition=Q(succeeded__lte=models.F("decided")),
                name="pattern_rollup_succeeded_within_decided",
            ),
            models.CheckConstraint(
                condition=Q(failed__lte=models.F("decided") - models.F("succeeded")),
                name="pattern_rollup_failed_within_decided",
            ),
        ]

    def __str__(self) -> str:
        return f"Patterns of {self.action_type_id}"


class OutcomeDaily(models.Model):
    """Outcome counts per day, action type, clone and account owner: what the charts read.

    Aggregating a million outcome rows on every uncached page view costs seconds; these
    rows (a few thousand a month) answer the same questions in milliseconds. Kept by the
    ``refresh_analytics`` job (every 5 minutes: the last 35 days, which covers every
    action window, plus any day that received back-filled records) and recomputed for
    today when someone asks a dashboard for fresh numbers. A summary table, not a
    materialized view, for the reasons given on PatternRollup and because a materialized
    view can only be refreshed whole.
    """

    day = models.DateField()
    action_type = models.ForeignKey(
        "outcomes.ActionType", on_delete=models.CASCADE, related_name="+"
    )
    clone = models.ForeignKey(
        "agents.Clone", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    owner = models.ForeignKey(
        "users.User", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    outcomes = models.PositiveIntegerField(default=0)
    decided = models.PositiveIntegerField(default=0)
    succeeded = models.PositiveIntegerField(default=0)
    score_sum = models.FloatField(default=0.0)

    class Meta:
        indexes = [models.Index(fields=["owner", "day"])]  # day leads the unique key's index
        constraints = [
            # One row per group: concurrent refreshes upsert on it and never duplicate a row.
            # NULL clone or owner is a group of its own (NULLS NOT DISTINCT, PostgreSQL 15+).
            models.UniqueConstraint(
                fields=["day", "action_type", "clone", "owner"],
                nulls_distinct=False,
                name="outcome_daily_one_row_per_group",
            ),
            models.CheckConstraint(
                condition=Q(decided__lte=models.F("outcomes"), succeeded__lte=models.F("decided")),
                name="outcome_daily_counts_consistent",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.action_type_id}"
