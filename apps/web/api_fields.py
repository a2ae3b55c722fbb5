"""Serializer fields shared by every app's API."""

from __future__ import annotations

import copy

from django.db import models
from rest_framework import serializers


class FieldsBuiltOnce:
    """A serializer whose fields DRF builds once per class; each serializer then gets
    copies of them, which DRF binds to it as usual.

    DRF builds every field again for each serializer (a deep copy of the declared fields,
    each made by calling its constructor again): 0.33 ms of CPU for the rating's twenty-odd
    fields, a seventh of rating an output, against 0.01 ms for copies. A field keeps no
    state of its own while it validates, so the copies share the built ones' validators,
    choices and messages; a field holding another (a list's ``child``, a many-relation's
    ``child_relation``) gets a copy of that too, bound to it, and a nested serializer a
    whole new build.
    """

    def get_fields(self):
        cls = type(self)
        built = cls.__dict__.get("_fields_built")
        if built is None:  # two threads may both build: the same fields, either is kept
            built = super().get_fields()
            cls._fields_built = built
        return {name: _field_copy(field) for name, field in built.items()}


def _field_copy(field: serializers.Field) -> serializers.Field:
    if isinstance(field, serializers.BaseSerializer):
        return copy.deepcopy(field)
    # What copy.copy makes of a field (its attributes, shared), a quarter of its time.
    copied = object.__new__(type(field))
    copied.__dict__.update(field.__dict__)
    for holds in ("child", "child_relation"):
        held = getattr(field, holds, None)
        if isinstance(held, serializers.Field):
            held = _field_copy(held)  # bound by the built field's constructor
            held.parent = copied
            setattr(copied, holds, held)
    return copied


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
