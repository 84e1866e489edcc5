import copy

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from core.db import CompiledQuery

# Fields that hold other fields (a nested serializer, `many=True` relations, lists and
# dicts of a child field): their children are bound to them, so each copy is a new one.
_NESTING_FIELDS = (
    serializers.BaseSerializer,
    serializers.ManyRelatedField,
    serializers.ListField,
    serializers.DictField,
)


def fields_copy(templates: dict) -> dict:
    """Fields for one serializer instance from its class's unbound template fields.

    DRF deep-copies them, which re-runs every field's constructor (two thirds of an API
    create's serializer time). A plain field is copied shallowly instead: nothing in it
    differs between instances until `bind()` sets its name, parent and source, and its
    validators and choices are never changed in place. A field holding other fields is
    copied DRF's way, so its children are bound to the copy.
    """
    return {
        name: copy.deepcopy(field) if isinstance(field, _NESTING_FIELDS) else copy.copy(field)
        for name, field in templates.items()
    }


class CachedFieldsSerializer(serializers.Serializer):
    """A Serializer whose declared fields are copied per instance by `fields_copy`."""

    def get_fields(self):
        return fields_copy(self._declared_fields)


class CachedFieldsModelSerializer(serializers.ModelSerializer):
    """A ModelSerializer that builds its fields from the model once per class.

    DRF rebuilds them (model introspection, one Field per column) every time a serializer
    is instantiated, a third of an API GET's Python time on the incident. For serializers
    whose fields depend only on the class (not on the request or the instance; override
    nothing that changes them), the built fields are kept on the class and each instance
    gets copies (`fields_copy`).
    """

    def get_fields(self):
        cls = type(self)
        built = cls.__dict__.get("_built_fields")
        if built is None:
            built = super().get_fields()
            cls._built_fields = built
        return fields_copy(built)


class CompiledPrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    """A PrimaryKeyRelatedField over a fixed queryset (not one that depends on the
    request), whose lookup statement is compiled once per process (`CompiledQuery`): an
    input serializer reads each reference it is given on every write. Accepts and refuses
    what PrimaryKeyRelatedField does, with its messages."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        queryset = self.queryset
        self._lookup = CompiledQuery(lambda pk: queryset.filter(pk=pk))

    def to_internal_value(self, data):
        if self.pk_field is not None:
            return super().to_internal_value(data)
        try:
            if isinstance(data, bool):
                raise TypeError
            pk = self.queryset.model._meta.pk.get_prep_value(data)
        except (TypeError, ValueError):
            self.fail("incorrect_type", data_type=type(data).__name__)
        instance = self._lookup.first(pk)
        if instance is None:
            self.fail("does_not_exist", pk_value=data)
        return instance


class ErrorSerializer(serializers.Serializer):
    """The body of every API error (core.api.exceptions), documented once for the schema."""

    code = serializers.CharField(help_text=_("Stable machine-readable code, e.g. “invalid”."))
    detail = serializers.CharField(help_text=_("Human-readable message in the user's language."))
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text=_("Messages per input field; empty when the error is not about a field."),
    )
