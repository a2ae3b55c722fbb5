"""The API's rendering of a feedback entry (``FeedbackEntrySerializer.to_representation``,
written out for speed) is DRF's own rendering of the serializer's fields, field for field."""

from __future__ import annotations

import zoneinfo

import pytest
from django.utils import timezone
from rest_framework import serializers

from apps.feedback.api import FeedbackEntrySerializer, FeedbackUpdateSerializer
from apps.feedback.models import AspectPolarity, FeedbackEntry, FeedbackKind
from apps.feedback.services import feedback_rate
from tests.factories.outcomes import OutcomeFactory


def _as_drf_renders(serializer_class, entry: FeedbackEntry) -> dict:
    serializer = serializer_class(entry)
    aspects = list(entry.aspects.all()) if entry.kind == FeedbackKind.DASHBOARD else []
    entry.positive_aspects = sorted(
        a.code for a in aspects if a.polarity == AspectPolarity.POSITIVE
    )
    entry.negative_aspects = sorted(
        a.code for a in aspects if a.polarity == AspectPolarity.NEGATIVE
    )
    return serializers.ModelSerializer.to_representation(serializer, entry)


@pytest.fixture
def entries(org, manager):
    inline, _ = feedback_rate(user=manager, outcome=OutcomeFactory(), kind="inline", rating=1)
    detailed, _ = feedback_rate(
        user=manager,
        outcome=OutcomeFactory(),
        kind="dashboard",
        rating=4,
        comment="Good ask.",
        usefulness=5,
        likelihood_to_reuse=8,
        would_recommend=False,
        positive_aspects=["clear", "good-ask"],
        negative_aspects=["generic"],
        positive_notes="Short.",
        feature_requests=["tone", ""],
        error_category="tone",
        error_details="Too formal.",
    )
    # as the service returns them (a rating's response) and as a list reads them
    return [inline, detailed] + [
        FeedbackEntry.objects.select_related("user").get(pk=entry.pk)
        for entry in (inline, detailed)
    ]


@pytest.mark.parametrize("zone", ["UTC", "Europe/Berlin", "America/Los_Angeles"])
@pytest.mark.parametrize("serializer_class", [FeedbackEntrySerializer, FeedbackUpdateSerializer])
def test_the_written_out_rendering_is_drfs(entries, zone, serializer_class):
    with timezone.override(zoneinfo.ZoneInfo(zone)):
        for entry in entries:
            rendered = serializer_class(entry).data
            assert rendered == _as_drf_renders(serializer_class, entry)
            assert list(rendered) == FeedbackEntrySerializer.Meta.fields


def test_every_field_of_the_serializer_is_rendered(entries):
    assert set(FeedbackEntrySerializer(entries[0]).data) == set(FeedbackEntrySerializer().fields)
