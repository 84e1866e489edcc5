from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from accounts.models import Organisation, SupportGroup, User
from config_items.choices import CIStatus, Criticality, Environment, ImpactDirection
from config_items.imports import import_progress
from config_items.models import (
    AttributeDefinition,
    Baseline,
    CIClass,
    ConfigurationItem,
    ImportJob,
    Relationship,
    RelationshipType,
)
from config_items.selectors import DEFAULT_IMPACT_DEPTH, MAX_IMPACT_DEPTH
from config_items.services import CI_TRANSITIONS
from core.api.serializers import CachedFieldsSerializer, ref


class AttributeDefinitionSerializer(serializers.ModelSerializer):
    class Meta:
        model = AttributeDefinition
        fields = [
            "id",
            "ci_class",
            "key",
            "label",
            "type",
            "is_required",
            "choices",
            "unit",
            "help_text",
            "order",
        ]


class CIClassSerializer(serializers.ModelSerializer):
    parent = serializers.SlugRelatedField(
        slug_field="code", queryset=CIClass.objects.all(), allow_null=True, required=False
    )
    attribute_definitions = AttributeDefinitionSerializer(many=True, read_only=True)

    class Meta:
        model = CIClass
        fields = [
            "id",
            "code",
            "name",
            "parent",
            "description",
            "icon",
            "service_kind",
            "is_location",
            "list_columns",
            "attribute_definitions",
        ]


class RelationshipTypeSerializer(serializers.ModelSerializer):
    class Meta:
        model = RelationshipType
        fields = ["id", "code", "forward_name", "reverse_name", "impact", "description"]


class CIRefSerializer(serializers.ModelSerializer):
    ci_class = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = ConfigurationItem
        fields = ["id", "name", "ci_class", "status"]


class ConfigurationItemSerializer(serializers.ModelSerializer):
    """Read shape of a CI."""

    ci_class = serializers.SlugRelatedField(slug_field="code", read_only=True)
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True)
    support_group = serializers.SlugRelatedField(slug_field="name", read_only=True)
    organisations = serializers.SlugRelatedField(slug_field="code", many=True, read_only=True)
    location = ref(CIRefSerializer)
    url = serializers.HyperlinkedIdentityField(view_name="api-v1:config_items-api:ci-detail")

    class Meta:
        model = ConfigurationItem
        fields = [
            "id",
            "url",
            "name",
            "ci_class",
            "status",
            "environment",
            "criticality",
            "owner",
            "support_group",
            "organisations",
            "location",
            "serial_number",
            "asset_tag",
            "attributes",
            "notes",
            "created_at",
            "updated_at",
        ]


class ConfigurationItemInputSerializer(CachedFieldsSerializer):
    """Create/update input; attribute values are validated by the class schema in the service."""

    name = serializers.CharField(max_length=200)
    ci_class = serializers.SlugRelatedField(slug_field="code", queryset=CIClass.objects.all())
    status = serializers.ChoiceField(choices=CIStatus.choices, required=False)
    environment = serializers.ChoiceField(choices=Environment.choices, required=False)
    criticality = serializers.ChoiceField(choices=Criticality.choices, required=False)
    owner = serializers.SlugRelatedField(
        slug_field="username", queryset=User.objects.all(), required=False, allow_null=True
    )
    support_group = serializers.SlugRelatedField(
        slug_field="name", queryset=SupportGroup.objects.all(), required=False, allow_null=True
    )
    organisations = serializers.SlugRelatedField(
        slug_field="code", queryset=Organisation.objects.all(), many=True, required=False
    )
    location = serializers.PrimaryKeyRelatedField(
        queryset=ConfigurationItem.objects.all(), required=False, allow_null=True
    )
    serial_number = serializers.CharField(max_length=100, required=False, allow_blank=True)
    asset_tag = serializers.CharField(max_length=100, required=False, allow_blank=True)
    notes = serializers.CharField(required=False, allow_blank=True)
    attributes = serializers.DictField(required=False)


class TransitionInputSerializer(CachedFieldsSerializer):
    transition = serializers.ChoiceField(choices=list(CI_TRANSITIONS))


class RelationshipSerializer(serializers.ModelSerializer):
    source = ref(CIRefSerializer)
    target = ref(CIRefSerializer)
    type = serializers.SlugRelatedField(slug_field="code", read_only=True)
    forward_name = serializers.CharField(source="type.forward_name", read_only=True)

    class Meta:
        model = Relationship
        fields = ["id", "source", "type", "forward_name", "target", "created_at"]


class RelationshipInputSerializer(CachedFieldsSerializer):
    source = serializers.PrimaryKeyRelatedField(queryset=ConfigurationItem.objects.all())
    target = serializers.PrimaryKeyRelatedField(queryset=ConfigurationItem.objects.all())
    type = serializers.SlugRelatedField(slug_field="code", queryset=RelationshipType.objects.all())


class ImpactQuerySerializer(CachedFieldsSerializer):
    direction = serializers.ChoiceField(
        choices=ImpactDirection.choices, default=ImpactDirection.DOWNSTREAM
    )
    depth = serializers.IntegerField(
        min_value=1, max_value=MAX_IMPACT_DEPTH, default=DEFAULT_IMPACT_DEPTH
    )
    types = serializers.CharField(
        required=False, help_text=_("Comma-separated relationship type codes.")
    )


class ImpactItemSerializer(CachedFieldsSerializer):
    ci = ref(CIRefSerializer)
    distance = serializers.IntegerField()


class ImpactSerializer(CachedFieldsSerializer):
    direction = serializers.CharField()
    depth = serializers.IntegerField()
    count = serializers.IntegerField()
    items = ImpactItemSerializer(many=True)
    affected_services = ref(CIRefSerializer, many=True)
    affected_organisations = serializers.ListField(child=serializers.CharField())


class HistoryEntrySerializer(CachedFieldsSerializer):
    at = serializers.DateTimeField()
    user = serializers.CharField(allow_null=True)
    kind = serializers.CharField()
    field = serializers.CharField(allow_null=True)
    old = serializers.JSONField(allow_null=True)
    new = serializers.JSONField(allow_null=True)


class ImportJobSerializer(serializers.ModelSerializer):
    ci_class = serializers.SlugRelatedField(slug_field="code", read_only=True)
    progress_percent = serializers.SerializerMethodField()
    processed_rows = serializers.SerializerMethodField()

    class Meta:
        model = ImportJob
        fields = [
            "id",
            "ci_class",
            "format",
            "source_name",
            "mapping",
            "key_field",
            "is_dry_run",
            "status",
            "total_rows",
            "processed_rows",
            "progress_percent",
            "created_count",
            "updated_count",
            "unchanged_count",
            "relationship_count",
            "error_count",
            "errors",
            "failure",
            "created_at",
            "started_at",
            "finished_at",
        ]

    def get_processed_rows(self, job) -> int:
        return import_progress(job)

    def get_progress_percent(self, job) -> int:
        if not job.total_rows:
            return job.progress_percent
        return min(100, round(100 * self.get_processed_rows(job) / job.total_rows))


class ImportJobInputSerializer(CachedFieldsSerializer):
    file = serializers.FileField()
    ci_class = serializers.SlugRelatedField(slug_field="code", queryset=CIClass.objects.all())
    mapping = serializers.JSONField(
        required=False, help_text=_("{column: field}; guessed if absent.")
    )
    key_field = serializers.CharField(default="name")
    dry_run = serializers.BooleanField(default=True)


class BaselineSerializer(serializers.ModelSerializer):
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    ci_count = serializers.IntegerField(source="items.count", read_only=True)

    class Meta:
        model = Baseline
        fields = ["id", "name", "description", "created_by", "created_at", "ci_count"]


class BaselineInputSerializer(CachedFieldsSerializer):
    name = serializers.CharField(max_length=150)
    description = serializers.CharField(required=False, allow_blank=True)
    cis = serializers.PrimaryKeyRelatedField(queryset=ConfigurationItem.objects.all(), many=True)


class BaselineDiffSerializer(CachedFieldsSerializer):
    field = serializers.CharField()
    baseline = serializers.JSONField(allow_null=True)
    current = serializers.JSONField(allow_null=True)
