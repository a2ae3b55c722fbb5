"""Serializer fields for the agent entities (no endpoints: clones are edited on personas)."""

from __future__ import annotations

from rest_framework import serializers

from apps.agents.models import Clone


class CloneRef(serializers.SlugRelatedField):
    """A clone referenced by the agent's external id (``"clone": "clone-7"``)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("queryset", Clone.objects.all())
        super().__init__(slug_field="external_id", **kwargs)
