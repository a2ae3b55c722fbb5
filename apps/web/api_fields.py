"""Serializer fields shared by every app's API."""

from __future__ import annotations

from django.db import models
from rest_framework import serializers


class ModelRef(serializers.SlugRelatedField):
    """An object referenced by a unique key rather than its id (``"account": "acc-17"``);
    writable (looked up in ``model``) unless ``read_only``. Subclasses name ``model`` and,
    when it is not the external id, ``key``."""

    model: type[models.Model]
    key = "external_id"

    def __init__(self, **kwargs):
        if not kwargs.get("read_only"):
            kwargs.setdefault("queryset", self.model._default_manager.all())
        super().__init__(slug_field=self.key, **kwargs)
