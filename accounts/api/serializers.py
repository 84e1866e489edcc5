"""Read serializers (output) and input serializers (validated, then handed to a service)."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.api.serializers import CachedFieldsSerializer

from ..choices import Language, Role
from ..models import (
    ApiToken,
    Organisation,
    OrganisationContact,
    SupportGroup,
    User,
    validate_time_zone,
)


class UserSummarySerializer(serializers.ModelSerializer):
    display_name = serializers.CharField(source="__str__", read_only=True)

    class Meta:
        model = User
        fields = ["pk", "username", "display_name", "email"]
        read_only_fields = fields


class OrganisationSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = Organisation
        fields = ["pk", "name", "code"]
        read_only_fields = fields


class UserSerializer(serializers.ModelSerializer):
    display_name = serializers.CharField(source="__str__", read_only=True)
    roles = serializers.SerializerMethodField()
    organisation = OrganisationSummarySerializer(read_only=True)
    support_groups = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta:
        model = User
        fields = [
            "pk",
            "username",
            "display_name",
            "email",
            "first_name",
            "last_name",
            "job_title",
            "phone",
            "is_active",
            "roles",
            "organisation",
            "support_groups",
            "language",
            "time_zone",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.ChoiceField(Role.choices)))
    def get_roles(self, obj: User) -> list[str]:
        # Read from the prefetched groups so a list costs no query per user.
        return sorted(group.name for group in obj.groups.all())


class MeSerializer(UserSerializer):
    permissions = serializers.SerializerMethodField()

    class Meta(UserSerializer.Meta):
        fields = [*UserSerializer.Meta.fields, "permissions"]
        read_only_fields = fields

    def get_permissions(self, obj: User) -> list[str]:
        return sorted(obj.get_all_permissions())


class MeUpdateInputSerializer(CachedFieldsSerializer):
    language = serializers.ChoiceField(choices=Language.choices, required=False)
    time_zone = serializers.CharField(
        max_length=64, required=False, validators=[validate_time_zone]
    )


class OrganisationContactSerializer(serializers.ModelSerializer):
    class Meta:
        model = OrganisationContact
        fields = ["pk", "name", "role", "email", "phone", "is_primary"]
        read_only_fields = fields


class OrganisationSerializer(serializers.ModelSerializer):
    contacts = OrganisationContactSerializer(many=True, read_only=True)

    class Meta:
        model = Organisation
        fields = ["pk", "name", "code", "email", "phone", "address", "is_active", "contacts"]
        read_only_fields = fields


class SupportGroupSerializer(serializers.ModelSerializer):
    manager = UserSummarySerializer(read_only=True)
    members = UserSummarySerializer(many=True, read_only=True)

    class Meta:
        model = SupportGroup
        fields = ["pk", "name", "description", "email", "is_active", "manager", "members"]
        read_only_fields = fields


class ApiTokenSerializer(serializers.ModelSerializer):
    user = UserSummarySerializer(read_only=True)
    created_by = UserSummarySerializer(read_only=True)
    revoked_by = UserSummarySerializer(read_only=True)
    is_active = serializers.BooleanField(read_only=True)

    class Meta:
        model = ApiToken
        fields = [
            "pk",
            "name",
            "key_prefix",
            "user",
            "created_by",
            "created_at",
            "expires_at",
            "last_used_at",
            "revoked_at",
            "revoked_by",
            "is_active",
        ]
        read_only_fields = fields


class ApiTokenCreatedSerializer(ApiTokenSerializer):
    key = serializers.CharField(
        read_only=True, help_text=_("The secret key. Shown only in this answer; store it now.")
    )

    class Meta(ApiTokenSerializer.Meta):
        fields = [*ApiTokenSerializer.Meta.fields, "key"]
        read_only_fields = fields


class ApiTokenCreateInputSerializer(CachedFieldsSerializer):
    user = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True), help_text=_("The user the token acts as.")
    )
    name = serializers.CharField(max_length=100)
    expires_at = serializers.DateTimeField(required=False, allow_null=True)


class TokenObtainInputSerializer(CachedFieldsSerializer):
    username = serializers.CharField(help_text=_("Username or email address."))
    password = serializers.CharField(style={"input_type": "password"}, trim_whitespace=False)


class TokenObtainSerializer(CachedFieldsSerializer):
    token = serializers.CharField(help_text=_("Send as “Authorization: Bearer <token>”."))
    expires_at = serializers.DateTimeField()
    user = UserSerializer()
