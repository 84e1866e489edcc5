"""Read serializers (output) and input serializers (validated, then handed to a service).

Two read shapes: `IncidentSerializer` for the support side and the narrower
`IncidentCustomerSerializer` for customers, which leaves out agent-only fields (assignee,
watchers, configuration items, the major-incident manager, cancellation reason). Work
notes never reach customers: comment and timeline lists come from `core.selectors`,
which filter them out for customers.
"""

from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from accounts.models import Organisation, SupportGroup, User
from config_items.models import ConfigurationItem
from core.api.serializers import (
    CachedFieldsModelSerializer,
    CachedFieldsSerializer,
    CompiledPrimaryKeyRelatedField,
    ref,
)
from core.choices import CommentVisibility
from core.db import CompiledQuery
from core.markdown import markdown_render
from core.models import Attachment, Comment
from incidents.choices import (
    Channel,
    Impact,
    IncidentStatus,
    PendingReason,
    ResolutionCode,
    Urgency,
)
from incidents.models import Category, Incident, MajorIncidentUpdate, SatisfactionRating

from . import examples as ex

# Actions a customer may take on a resolved incident of theirs (not FSM transitions).
CUSTOMER_RESOLVED_ACTIONS = ["confirm", "reject", "rate"]


class UserRefSerializer(CachedFieldsModelSerializer):
    name = serializers.CharField(source="__str__", read_only=True)

    class Meta:
        model = User
        fields = ["id", "username", "name"]
        read_only_fields = fields


class OrganisationRefSerializer(CachedFieldsModelSerializer):
    class Meta:
        model = Organisation
        fields = ["id", "name", "code"]
        read_only_fields = fields


class SupportGroupRefSerializer(CachedFieldsModelSerializer):
    class Meta:
        model = SupportGroup
        fields = ["id", "name"]
        read_only_fields = fields


class ServiceRefSerializer(CachedFieldsModelSerializer):
    class Meta:
        model = ConfigurationItem
        fields = ["id", "name"]
        read_only_fields = fields


class CategoryRefSerializer(CachedFieldsModelSerializer):
    class Meta:
        model = Category
        fields = ["id", "name"]
        read_only_fields = fields


class IncidentRefSerializer(CachedFieldsModelSerializer):
    class Meta:
        model = Incident
        fields = ["id", "number", "title"]
        read_only_fields = fields


@extend_schema_serializer(examples=[ex.answer("Seen by its caller", ex.INCIDENT_CUSTOMER)])
class IncidentCustomerSerializer(CachedFieldsModelSerializer):
    """What a customer sees of an incident: no internal working detail."""

    url = serializers.HyperlinkedIdentityField(view_name="api-v1:incidents-api:incident-detail")
    description_html = serializers.SerializerMethodField()
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    caller = ref(UserRefSerializer)
    organisation = ref(OrganisationRefSerializer)
    service = ref(ServiceRefSerializer)
    category = ref(CategoryRefSerializer)
    subcategory = ref(CategoryRefSerializer)
    assignment_group = ref(SupportGroupRefSerializer)
    available_transitions = serializers.SerializerMethodField()

    class Meta:
        model = Incident
        fields = [
            "id",
            "number",
            "url",
            "title",
            "description",
            "description_html",
            "status",
            "status_label",
            "caller",
            "organisation",
            "channel",
            "service",
            "category",
            "subcategory",
            "impact",
            "urgency",
            "priority",
            "assignment_group",
            "assigned_at",
            "first_response_at",
            "resolved_at",
            "closed_at",
            "created_at",
            "updated_at",
            "pending_reason",
            "resolution_code",
            "resolution_notes",
            "reopen_count",
            "is_major",
            "version",
            "available_transitions",
        ]
        read_only_fields = fields

    def get_description_html(self, incident: Incident) -> str:
        return str(markdown_render(incident.description))

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_available_transitions(self, incident: Incident) -> list[str]:
        """Names of the actions the requesting user may take now (django-fsm's view,
        plus the caller's confirm / reject / rate on a resolved incident)."""
        user = self.context["request"].user
        if user.is_customer:
            answers = incident.status == IncidentStatus.RESOLVED and incident.caller_id == user.pk
            return CUSTOMER_RESOLVED_ACTIONS if answers else []
        return [t.name for t in incident.get_available_user_status_transitions(user)]


@extend_schema_serializer(examples=[ex.answer("An incident in progress", ex.INCIDENT)])
class IncidentSerializer(IncidentCustomerSerializer):
    """The full read shape for the support side."""

    assignee = ref(UserRefSerializer)
    watchers = ref(UserRefSerializer, many=True)
    configuration_items = ref(ServiceRefSerializer, many=True)
    parent = ref(IncidentRefSerializer)
    major_incident_manager = ref(UserRefSerializer)
    created_by = ref(UserRefSerializer)

    class Meta(IncidentCustomerSerializer.Meta):
        fields = [
            *IncidentCustomerSerializer.Meta.fields,
            "assignee",
            "watchers",
            "configuration_items",
            "parent",
            "major_incident_manager",
            "created_by",
            "cancel_reason",
        ]
        read_only_fields = fields


_ACTIVE_USER_BY_ID = CompiledQuery(
    lambda pk: User.objects.select_related("organisation").filter(is_active=True, pk=pk)
)


class UserByIdOrUsernameField(serializers.Field):
    """A user given by id (number) or by username (text)."""

    default_error_messages = {"not_found": _("No such user.")}

    def to_internal_value(self, data):
        if isinstance(data, bool):
            self.fail("not_found")
        # With the organisation: the incident logged for this caller is theirs.
        if isinstance(data, int) or str(data).isdecimal():
            user = _ACTIVE_USER_BY_ID.first(int(data))
        else:
            users = User.objects.select_related("organisation").filter(is_active=True)
            user = users.filter(username__iexact=str(data)).first()
        if user is None:
            self.fail("not_found")
        return user

    def to_representation(self, value):
        return value.pk


extend_schema_field(
    {"oneOf": [{"type": "integer"}, {"type": "string"}], "description": "user id or username"}
)(UserByIdOrUsernameField)


@extend_schema_field(OpenApiTypes.INT)
class _ServiceField(serializers.PrimaryKeyRelatedField):
    """A business/technical service the requesting user may see."""

    def get_queryset(self):
        user = self.context["request"].user
        return ConfigurationItem.objects.visible_to(user).services()


@extend_schema_field(OpenApiTypes.INT)
class _CIField(serializers.PrimaryKeyRelatedField):
    def get_queryset(self):
        return ConfigurationItem.objects.visible_to(self.context["request"].user)


@extend_schema_field(OpenApiTypes.INT)
class _IncidentRefField(serializers.PrimaryKeyRelatedField):
    def get_queryset(self):
        return Incident.objects.visible_to(self.context["request"].user)


class IncidentCreateInputSerializer(CachedFieldsSerializer):
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    caller = UserByIdOrUsernameField(
        required=False, help_text=_("User id or username; yourself when left out.")
    )
    channel = serializers.ChoiceField(
        choices=Channel.choices,
        required=False,
        help_text=_("Agents only; a customer's incident is logged as portal or API."),
    )
    service = _ServiceField(required=False, allow_null=True)
    configuration_items = _CIField(many=True, required=False)
    category = CompiledPrimaryKeyRelatedField(
        queryset=Category.objects.filter(is_active=True, parent=None),
        required=False,
        allow_null=True,
    )
    subcategory = CompiledPrimaryKeyRelatedField(
        queryset=Category.objects.filter(is_active=True).exclude(parent=None),
        required=False,
        allow_null=True,
    )
    impact = serializers.ChoiceField(choices=Impact.choices, required=False)
    urgency = serializers.ChoiceField(choices=Urgency.choices, required=False)
    assignment_group = CompiledPrimaryKeyRelatedField(
        queryset=SupportGroup.objects.filter(is_active=True), required=False, allow_null=True
    )
    assignee = CompiledPrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True), required=False, allow_null=True
    )
    parent = _IncidentRefField(required=False, allow_null=True)


@extend_schema_serializer(examples=[ex.given("Raise the urgency", {"urgency": 1, "version": 3})])
class IncidentUpdateInputSerializer(CachedFieldsSerializer):
    title = serializers.CharField(max_length=200, required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    channel = serializers.ChoiceField(choices=Channel.choices, required=False)
    service = _ServiceField(required=False, allow_null=True)
    configuration_items = _CIField(many=True, required=False)
    category = serializers.PrimaryKeyRelatedField(
        queryset=Category.objects.filter(parent=None), required=False, allow_null=True
    )
    subcategory = serializers.PrimaryKeyRelatedField(
        queryset=Category.objects.exclude(parent=None), required=False, allow_null=True
    )
    impact = serializers.ChoiceField(choices=Impact.choices, required=False)
    urgency = serializers.ChoiceField(choices=Urgency.choices, required=False)
    parent = _IncidentRefField(
        required=False,
        allow_null=True,
        help_text=_("An open incident whose resolution will resolve this one; null to unlink."),
    )
    version = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text=_("The version you edited; refused with 409 if someone changed it since."),
    )


@extend_schema_serializer(examples=[ex.given("At the version read", {"version": 3})])
class VersionInputSerializer(CachedFieldsSerializer):
    """Body of a transition without other input: the optional expected version."""

    version = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text=_("The version you acted on; refused with 409 if someone changed it since."),
    )


@extend_schema_serializer(
    examples=[
        ex.given("To a group and one of its members", {"group": 4, "assignee": 3, "version": 2})
    ]
)
class AssignInputSerializer(VersionInputSerializer):
    group = serializers.PrimaryKeyRelatedField(
        queryset=SupportGroup.objects.filter(is_active=True), required=False, allow_null=True
    )
    assignee = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True), required=False, allow_null=True
    )


@extend_schema_serializer(
    examples=[ex.given("Waiting for the caller", {"reason": "awaiting_customer", "version": 3})]
)
class PendInputSerializer(VersionInputSerializer):
    reason = serializers.ChoiceField(choices=PendingReason.choices)


class ResolveInputSerializer(VersionInputSerializer):
    code = serializers.ChoiceField(choices=ResolutionCode.choices)
    notes = serializers.CharField()


@extend_schema_serializer(
    examples=[ex.given("With a reason", {"reason": "The printer fails again.", "version": 5})]
)
class ReasonInputSerializer(VersionInputSerializer):
    reason = serializers.CharField()


@extend_schema_serializer(
    examples=[ex.given("Five stars", {"score": 5, "comment": "Fixed within the hour, thank you."})]
)
class RateInputSerializer(CachedFieldsSerializer):
    score = serializers.IntegerField(min_value=1, max_value=5)
    comment = serializers.CharField(required=False, allow_blank=True, default="")


@extend_schema_serializer(examples=[ex.given("With its manager", {"manager": 7, "version": 3})])
class DeclareMajorInputSerializer(VersionInputSerializer):
    manager = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True),
        required=False,
        allow_null=True,
        help_text=_("The major-incident manager; yourself when left out."),
    )


@extend_schema_serializer(examples=[ex.given("A colleague", {"user": 5})])
class WatchInputSerializer(CachedFieldsSerializer):
    user = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True),
        required=False,
        help_text=_("Who watches; yourself when left out (customers: only themselves)."),
    )


@extend_schema_serializer(examples=[ex.answer("A rating", ex.RATING)])
class SatisfactionRatingSerializer(CachedFieldsModelSerializer):
    rated_by = ref(UserRefSerializer)

    class Meta:
        model = SatisfactionRating
        fields = ["id", "score", "comment", "rated_by", "created_at"]
        read_only_fields = fields


@extend_schema_serializer(examples=[ex.answer("An update sent", ex.MAJOR_UPDATE)])
class MajorIncidentUpdateSerializer(CachedFieldsModelSerializer):
    author = ref(UserRefSerializer)

    class Meta:
        model = MajorIncidentUpdate
        fields = ["id", "body", "is_sent_to_customers", "author", "created_at"]
        read_only_fields = fields


@extend_schema_serializer(
    examples=[
        ex.given(
            "To the affected customers",
            {"body": ex.MAJOR_UPDATE["body"], "send_to_customers": True},
        )
    ]
)
class MajorIncidentUpdateInputSerializer(CachedFieldsSerializer):
    body = serializers.CharField()
    send_to_customers = serializers.BooleanField(required=False, default=True)


@extend_schema_serializer(examples=[ex.answer("A public reply", ex.COMMENT)])
class CommentSerializer(CachedFieldsModelSerializer):
    author = ref(UserRefSerializer)
    body_html = serializers.SerializerMethodField()

    class Meta:
        model = Comment
        fields = ["id", "body", "body_html", "visibility", "author", "created_at"]
        read_only_fields = fields

    def get_body_html(self, comment: Comment) -> str:
        return str(markdown_render(comment.body))


@extend_schema_serializer(
    examples=[
        ex.given("A public reply", {"body": ex.COMMENT["body"], "visibility": "public"}),
        ex.given("A work note", {"body": "Fuser unit ordered.", "visibility": "work_note"}),
    ]
)
class CommentInputSerializer(CachedFieldsSerializer):
    body = serializers.CharField()
    visibility = serializers.ChoiceField(
        choices=CommentVisibility.choices,
        required=False,
        default=CommentVisibility.PUBLIC,
        help_text=_("Customers may only write public replies."),
    )


@extend_schema_serializer(examples=[ex.answer("A screenshot", ex.ATTACHMENT)])
class AttachmentSerializer(CachedFieldsModelSerializer):
    uploaded_by = ref(UserRefSerializer)
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = Attachment
        fields = [
            "id",
            "name",
            "size",
            "mime_type",
            "is_public",
            "uploaded_by",
            "uploaded_at",
            "download_url",
        ]
        read_only_fields = fields

    def get_download_url(self, attachment: Attachment) -> str:
        path = reverse("core:attachment_download", args=[attachment.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path


class AttachmentInputSerializer(CachedFieldsSerializer):
    file = serializers.FileField()


@extend_schema_serializer(examples=[ex.answer("Two services, two customers", ex.AFFECTED)])
class IncidentAffectedSerializer(CachedFieldsSerializer):
    """What the incident's service and CIs affect, by the CMDB's impact analysis."""

    services = ref(ServiceRefSerializer, many=True, help_text=_("Business services affected."))
    organisations = ref(
        OrganisationRefSerializer, many=True, help_text=_("Customers those services serve.")
    )


@extend_schema_serializer(examples=[ex.answer("An assignment", ex.TIMELINE_ENTRY)])
class TimelineEntrySerializer(CachedFieldsSerializer):
    """One timeline entry: `kind` says whether `item` is a comment, attachment or event."""

    kind = serializers.ChoiceField(choices=["comment", "attachment", "event"])
    at = serializers.DateTimeField()
    actor = ref(UserRefSerializer, allow_null=True)
    item = serializers.SerializerMethodField()

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_item(self, entry) -> dict:
        if entry.kind == "comment":
            return CommentSerializer(entry.item, context=self.context).data
        if entry.kind == "attachment":
            return AttachmentSerializer(entry.item, context=self.context).data
        return {
            "id": entry.item.pk,
            "event_type": entry.item.event_type,
            "label": str(entry.item.get_event_type_display()),
            "data": entry.item.data,
        }
