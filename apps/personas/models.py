from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from apps.agents.models import Clone, RegionProfile, slider_field, slider_range_checks


class PersonaVersion(models.Model):
    """A saved state of a clone's persona: the sliders, region and instructions at a moment.

    Saving the persona page (or PATCHing the API) appends a version; reverting appends a
    new version that copies an old one, so history is never rewritten. Version 1 is the
    clone's initial settings, kept when the clone is first edited.
    """

    clone = models.ForeignKey(Clone, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    formal_casual = slider_field("0 = formal, 100 = casual")
    concise_detailed = slider_field("0 = concise, 100 = detailed")
    technical_business = slider_field("0 = technical, 100 = business")
    proactive_reactive = slider_field("0 = proactive, 100 = reactive")
    region = models.ForeignKey(
        RegionProfile, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    custom_instructions = models.TextField(blank=True, max_length=2000)
    note = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["clone", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["clone", "number"], name="persona_version_unique"),
            models.CheckConstraint(condition=Q(number__gte=1), name="persona_version_positive"),
            *slider_range_checks("persona_version"),
        ]
        indexes = [models.Index(fields=["clone", "created_at"])]

    def __str__(self) -> str:
        return f"{self.clone} v{self.number}"
