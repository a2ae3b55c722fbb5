"""The API's rendering of an outcome (``OutcomeSerializer.to_representation``, written out
for speed) is DRF's own rendering of the serializer's fields, field for field."""

from __future__ import annotations

import zoneinfo
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework import serializers

from apps.outcomes.api import OutcomeSerializer
from apps.outcomes.models import OutcomeRecord, OutcomeStatus
from tests.factories.crm import DealFactory
from tests.factories.outcomes import CloneFactory, OutcomeFactory


def _as_drf_renders(record: OutcomeRecord) -> dict:
    serializer = OutcomeSerializer(record)
    return serializers.ModelSerializer.to_representation(serializer, record)


@pytest.fixture
def records(org):
    plain = OutcomeFactory()
    deal = DealFactory()
    full = OutcomeFactory(
        account=deal.account,
        deal=deal,
        clone=CloneFactory(),
        metadata={"channel": "email", "tries": 2, "nested": {"a": [1, None]}},
        output_text="",
    )
    OutcomeRecord.objects.filter(pk=full.pk).update(
        status=OutcomeStatus.RESOLVED,
        score=0.5,
        resolved_at=timezone.now() - timedelta(minutes=5),
        resolution_note="Replied within the window.",
    )
    return [OutcomeRecord.objects.select_related().get(pk=r.pk) for r in (plain, full)]


@pytest.mark.parametrize("zone", ["UTC", "Europe/Berlin", "America/Los_Angeles"])
def test_the_written_out_rendering_is_drfs(records, zone):
    with timezone.override(zoneinfo.ZoneInfo(zone)):
        for record in records:
            rendered = OutcomeSerializer(record).data
            assert rendered == _as_drf_renders(record)
            assert list(rendered) == ["id", *OutcomeSerializer.Meta.fields[1:]]


def test_every_field_of_the_serializer_is_rendered(records):
    assert set(OutcomeSerializer(records[0]).data) == set(OutcomeSerializer().fields)
