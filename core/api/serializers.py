from django.utils.translation import gettext_lazy as _
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    """The body of every API error (core.api.exceptions), documented once for the schema."""

    code = serializers.CharField(help_text=_("Stable machine-readable code, e.g. “invalid”."))
    detail = serializers.CharField(help_text=_("Human-readable message in the user's language."))
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text=_("Messages per input field; empty when the error is not about a field."),
    )
