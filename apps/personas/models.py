from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

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
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(formality_baseline__gte=0, formality_baseline__lte=100),
                name="region_formality_range",
            )
        ]

    def __str__(self) -> str:
        return self.name


def _slider(help_text: str) -> models.PositiveSmallIntegerField:
    return models.PositiveSmallIntegerField(
        default=50, validators=[MinValueValidator(0), MaxValueValidator(100)], help_text=help_text
    )


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
    formal_casual = _slider("0 = formal, 100 = casual")
    concise_detailed = _slider("0 = concise, 100 = detailed")
    technical_business = _slider("0 = technical, 100 = business")
    proactive_reactive = _slider("0 = proactive, 100 = reactive")
    region = models.ForeignKey(
        RegionProfile, null=True, blank=True, on_delete=models.SET_NULL, related_name="clones"
    )
    custom_instructions = models.TextField(blank=True, max_length=2000)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(**{f"{slider}__gte": 0, f"{slider}__lte": 100}),
                name=f"clone_{slider}_range",
            )
            for slider in SLIDERS
        ]
        indexes = [models.Index(fields=["owner", "is_active"])]

    def __str__(self) -> str:
        return self.name


class PersonaVersion(models.Model):
    """A saved state of a clone's persona: the sliders, region and instructions at a moment.

    Saving the persona page (or PATCHing the API) appends a version; reverting appends a
    new version that copies an old one, so history is never rewritten. Version 1 is the
    clone's initial settings, kept when the clone is first edited.
    """

    clone = models.ForeignKey(Clone, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    formal_casual = _slider("0 = formal, 100 = casual")
    concise_detailed = _slider("0 = concise, 100 = detailed")
    technical_business = _slider("0 = technical, 100 = business")
    proactive_reactive = _slider("0 = proactive, 100 = reactive")
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
            *[
                models.CheckConstraint(
                    condition=Q(**{f"{slider}__gte": 0, f"{slider}__lte": 100}),
                    name=f"persona_version_{slider}_range",
                )
                for slider in SLIDERS
            ],
        ]
        indexes = [models.Index(fields=["clone", "created_at"])]

    def __str__(self) -> str:
        return f"{self.clone} v{self.number}"
