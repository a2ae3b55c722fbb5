"""The agent entities every area refers to: clones (agent personas) and region profiles.

A low app (above crm, below outcomes) so that outcomes, approvals, goals and dashboards
can point at a clone without importing the personas pages. The tables keep the names they
had when these models lived in ``apps.personas`` (``db_table``).
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

SLIDERS = ["formal_casual", "concise_detailed", "technical_business", "proactive_reactive"]


class RegionProfile(models.Model):
    """Regional conventions a persona starts from: greeting, formality, dates, sign-off."""

    code = models.SlugField(max_length=20, unique=True)
    name = models.CharField(max_length=100)
    greeting_style = models.CharField(max_length=100, default="Hi {first_name},")
    formality_baseline = models.PositiveSmallIntegerField(
        default=50, validators=[MinValueValidator(0), MaxValueValidator(100)]
    )
    date_format = models.CharField(max_length=20, default="%d %b %Y")
    sign_off = models.CharField(max_length=100, default="Best regards,")

    class Meta:
        db_table = "personas_regionprofile"
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(formality_baseline__gte=0, formality_baseline__lte=100),
                name="region_formality_range",
            )
        ]

    def __str__(self) -> str:
        return self.name


def slider_field(help_text: str) -> models.PositiveSmallIntegerField:
    return models.PositiveSmallIntegerField(
        default=50, validators=[MinValueValidator(0), MaxValueValidator(100)], help_text=help_text
    )


def slider_range_checks(prefix: str) -> list[models.CheckConstraint]:
    """Each slider from 0 to 100, in the database (``<prefix>_<slider>_range``)."""
    return [
        models.CheckConstraint(
            condition=Q(**{f"{slider}__gte": 0, f"{slider}__lte": 100}),
            name=f"{prefix}_{slider}_range",
        )
        for slider in SLIDERS
    ]


class Clone(models.Model):
    """An agent persona owned by a rep: how the agent writes when it acts for them.

    Four sliders from 0 to 100 (left word at 0, right word at 100), a region profile
    and free-text custom instructions. The agent references it by ``external_id``.
    """

    external_id = models.CharField(max_length=100, unique=True)
    name = models.CharField(max_length=100)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="clones"
    )
    is_active = models.BooleanField(default=True)
    formal_casual = slider_field("0 = formal, 100 = casual")
    concise_detailed = slider_field("0 = concise, 100 = detailed")
    technical_business = slider_field("0 = technical, 100 = business")
    proactive_reactive = slider_field("0 = proactive, 100 = reactive")
    region = models.ForeignKey(
        RegionProfile, null=True, blank=True, on_delete=models.SET_NULL, related_name="clones"
    )
    custom_instructions = models.TextField(blank=True, max_length=2000)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "personas_clone"
        ordering = ["name"]
        constraints = slider_range_checks("clone")
        indexes = [models.Index(fields=["owner", "is_active"])]

    def __str__(self) -> str:
        return self.name
