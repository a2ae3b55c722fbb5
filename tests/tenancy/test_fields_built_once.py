"""``FieldsBuiltOnce`` (apps/web/api_fields.py): fields built once per serializer class and
copied for each serializer. Each copy, and each field it holds, answers to its own
serializer: its context, its errors, its values."""

from __future__ import annotations

from rest_framework import serializers

from apps.web.api_fields import FieldsBuiltOnce


class _Whose(serializers.CharField):
    """A value tagged with the serializer's context (as a visibility check reads its user)."""

    def to_internal_value(self, data):
        return f"{self.context['who']}:{super().to_internal_value(data)}"


class _WhoseRef(serializers.RelatedField):
    queryset = ()

    def to_internal_value(self, data):
        return f"{self.context['who']}#{data}"

    def to_representation(self, value):
        return value


class _Tagged(FieldsBuiltOnce, serializers.Serializer):
    name = _Whose(max_length=5)
    names = serializers.ListField(child=_Whose(max_length=5))
    refs = _WhoseRef(many=True)


def test_each_serializer_validates_with_its_own_context_and_errors():
    ann = _Tagged(data={"name": "x", "names": ["y"], "refs": [1]}, context={"who": "ann"})
    bob = _Tagged(
        data={"name": "x", "names": ["y", "far too long"], "refs": []}, context={"who": "bob"}
    )
    cid = _Tagged(data={"name": "z", "names": [], "refs": [2, 3]}, context={"who": "cid"})

    assert not bob.is_valid()
    assert ann.is_valid() and cid.is_valid()
    assert ann.validated_data == {"name": "ann:x", "names": ["ann:y"], "refs": ["ann#1"]}
    assert cid.validated_data == {"name": "cid:z", "names": [], "refs": ["cid#2", "cid#3"]}
    assert list(bob.errors) == ["names"] and list(bob.errors["names"]) == [1]
    assert ann.fields["names"] is not cid.fields["names"]
    assert ann.fields["names"].child is not cid.fields["names"].child
    assert ann.fields["refs"].child_relation.parent is ann.fields["refs"]
