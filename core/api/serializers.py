import copy

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers


class CachedFieldsModelSerializer(serializers.ModelSerializer):
    """A ModelSerializer that builds its fields from the model once per class.

    DRF rebuilds them (model introspection, one Field per column) every time a serializer
    is instantiated, a third of an API GET's Python time on the incident. For serializers
    whose fields depend only on the class (not on the request or the instance; override
    nothing that changes them), the built fields are kept on the class and each instance
    gets a deep copy, as DRF does for declared fields.
    """

    def get_fields(self):
        cls = type(self)
        built = cls.__dict__.get("_built_fields")
        if built is None:
            built = super().get_fields()
            cls._built_fields = built
        return copy.deepcopy(built)


class ErrorSerializer(serializers.Serializer):
    """The body of every API error (core.api.exceptions), documented once for the schema."""

    code = serializers.CharField(help_text=_("Stable machine-readable code, e.g. “invalid”."))
    detail = serializers.CharField(help_text=_("Human-readable message in the user's language."))
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text=_("Messages per input field; empty when the error is not about a field."),
    )
