"""REST endpoints of incident management: the incident resource, its lifecycle actions and
its comments, attachments and timeline (ISO/IEC 20000-1:2018 8.6.1).

Each endpoint checks the action (model permission plus `action_permissions`) and the rows
(`incident_list` / `incident_get` start from `visible_to(user)`), then calls one service.
Optimistic concurrency: responses carry `ETag: W/"<version>"`; a write with a stale
`If-Match` answers 412, a stale `version` in the body answers 409 (both code
`stale_version`).
"""

from django.db import transaction
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from accounts.authentication import ApiTokenAuthentication
from core.api.permissions import ActionPermissions, ModelPermissions
from core.api.serializers import ErrorSerializer
from core.exceptions import DomainError
from core.permissions import WORKSPACE_PERMISSION
from core.selectors import attachment_list, comment_list, prefetched_set, ticket_timeline
from core.services import attachment_add
from incidents import services
from incidents.choices import Channel
from incidents.filters import IncidentFilterSet
from incidents.models import Incident
from incidents.selectors import incident_affected, incident_get, incident_list

from . import examples as ex
from . import serializers as s


def _error(status: int, description) -> OpenApiResponse:
    return OpenApiResponse(ErrorSerializer, description=description, examples=[ex.error(status)])


_ERRORS = {
    400: _error(400, _("Invalid input.")),
    401: _error(401, _("Not signed in.")),
    403: _error(403, _("Not allowed.")),
    404: _error(404, _("No such incident, or not yours.")),
}
_CONFLICTS = {
    409: _error(
        409, _("Illegal transition (illegal_transition) or stale version (stale_version).")
    ),
    412: _error(412, _("If-Match names an older version (stale_version).")),
}
_IF_MATCH = OpenApiParameter(
    "If-Match",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description=_('The ETag you read, e.g. W/"3"; refused with 412 if the incident changed.'),
)
_IF_NONE_MATCH = OpenApiParameter(
    "If-None-Match",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description=_("The ETag you hold; answered 304 Not Modified if it is still current."),
)

# The list is ordered by one indexed column (cursor pagination keys on the first one).
_ORDERINGS = ["created_at", "updated_at", "priority", "number"]


def _etag(incident: Incident) -> str:
    return f'W/"{incident.version}"'


def _header_versions(value: str) -> set[str] | None:
    """Versions named by an If-Match / If-None-Match header; None for `*` or no header."""
    if not value or value.strip() == "*":
        return None
    versions = set()
    for tag in value.split(","):
        tag = tag.strip()
        tag = tag.removeprefix("W/").strip('"')
        versions.add(tag)
    return versions


def _stale(status_code: int, current: int, yours) -> DomainError:
    return DomainError(
        _(
            "Someone else changed this incident in the meantime (version %(current)s, "
            "yours %(yours)s). Reload it and apply your change again."
        )
        % {"current": current, "yours": yours},
        code="stale_version",
        status=status_code,
    )


def _transition_schema(request, *, summary, description="", examples=None):
    return extend_schema(
        summary=summary,
        description=description,
        request=request,
        parameters=[_IF_MATCH],
        responses={200: s.IncidentSerializer, **_ERRORS, **_CONFLICTS},
        examples=examples or [],
    )


@extend_schema_view(
    list=extend_schema(
        summary=_("List incidents"),
        description=_(
            "Incidents you may see, newest first, with cursor pagination. Filters as in the "
            "agent queues; `q` matches a number (INC0000042) or words of the title."
        ),
        responses={200: s.IncidentSerializer(many=True), **_ERRORS},
    ),
    retrieve=extend_schema(
        summary=_("One incident"),
        parameters=[_IF_NONE_MATCH],
        responses={
            200: s.IncidentSerializer,
            304: OpenApiResponse(description=_("Not modified.")),
            **_ERRORS,
        },
    ),
)
class IncidentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Incidents. Customers see their own and, if their organisation shares tickets, their
    organisation's, in the customer shape; everyone else with the view permission sees all."""

    serializer_class = s.IncidentSerializer
    permission_classes = [ModelPermissions, ActionPermissions]
    filterset_class = IncidentFilterSet
    ordering_fields = _ORDERINGS
    ordering = "-created_at"
    queryset = Incident.objects.none()
    action_permissions = {
        "create": ["incidents.add_incident"],
        "partial_update": ["incidents.change_incident"],
        "assign": ["incidents.assign_incident"],
        "assign_to_me": ["incidents.assign_incident"],
        "start": ["incidents.start_incident"],
        "pend": ["incidents.pend_incident"],
        "resume": ["incidents.resume_incident"],
        "resolve": ["incidents.resolve_incident"],
        "close": ["incidents.close_incident"],
        "reopen": ["incidents.reopen_incident"],
        "cancel": ["incidents.cancel_incident"],
        # The customer's side of a resolution: only portal users (the caller's organisation).
        "confirm": ["accounts.access_portal"],
        "reject": ["accounts.access_portal"],
        "rate": ["accounts.access_portal"],
        "declare_major": ["incidents.declare_major_incident"],
        "major_updates": ["incidents.view_majorincidentupdate"],
        "major_update_create": ["incidents.add_majorincidentupdate"],
        "comments": ["core.view_comment"],
        "comment_create": ["core.add_comment"],
        "attachments": ["core.view_attachment"],
        "attachment_create": ["core.add_attachment"],
        "affected": [WORKSPACE_PERMISSION],
    }

    def get_queryset(self):
        return (
            incident_list(user=self.request.user)
            .select_related("subcategory", "parent", "major_incident_manager", "created_by")
            .prefetch_related("watchers", "configuration_items")
        )

    def get_object(self) -> Incident:
        try:
            return incident_get(user=self.request.user, pk=int(self.kwargs["pk"]))
        except (Incident.DoesNotExist, ValueError):
            raise Http404 from None

    def get_serializer_class(self):
        if self.request.user.is_authenticated and self.request.user.is_customer:
            return s.IncidentCustomerSerializer
        return s.IncidentSerializer

    def _answer(self, incident: Incident, status_code: int = status.HTTP_200_OK) -> Response:
        """The incident in the user's shape, with its ETag."""
        data = self.get_serializer_class().represent(
            incident, context=self.get_serializer_context()
        )
        response = Response(data, status=status_code)
        response["ETag"] = _etag(incident)
        return response

    def _respond(self, incident: Incident) -> Response:
        """The incident as the user sees it now, re-read with its relations, with its ETag."""
        return self._answer(incident_get(user=self.request.user, pk=incident.pk))

    def _input(self, serializer_class):
        serializer = serializer_class(data=self.request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    def _if_match(self) -> set[str] | None:
        return _header_versions(self.request.headers.get("If-Match", ""))

    def _guarded(self, incident: Incident, run, *, body_version: int | None = None):
        """Run a service call under the request's version preconditions.

        The row is locked before the versions are compared, and the service runs in the
        same transaction, so no one can change the incident in between.
        """
        if_match = self._if_match()
        with transaction.atomic():
            if if_match is not None or body_version is not None:
                current = (
                    Incident.objects.select_for_update()
                    .values_list("version", flat=True)
                    .get(pk=incident.pk)
                )
                if if_match is not None and str(current) not in if_match:
                    raise _stale(status.HTTP_412_PRECONDITION_FAILED, current, ", ".join(if_match))
                if body_version is not None and body_version != current:
                    raise _stale(status.HTTP_409_CONFLICT, current, body_version)
            return run()

    def retrieve(self, request, *args, **kwargs):
        incident = self.get_object()
        held = _header_versions(request.headers.get("If-None-Match", ""))
        if held is not None and str(incident.version) in held:
            response = Response(status=status.HTTP_304_NOT_MODIFIED)
            response["ETag"] = _etag(incident)
            return response
        return self._answer(incident)

    @extend_schema(
        summary=_("Log an incident"),
        description=_(
            "Agents log on behalf of a caller (by id or username) and may assign it; "
            "customers log for themselves only, and the channel is set to portal (signed-in "
            "browser) or api (token)."
        ),
        request=s.IncidentCreateInputSerializer,
        responses={201: s.IncidentSerializer, **_ERRORS},
        examples=[
            ex.given(
                "Phone call logged by an agent",
                {
                    "title": "Cannot print invoices",
                    "description": "Printer on floor 3 shows *offline* since 9:00.",
                    "caller": "li.wei",
                    "channel": "phone",
                    "service": 12,
                    "category": 3,
                    "impact": 2,
                    "urgency": 1,
                    "assignment_group": 1,
                },
            ),
            ex.given(
                "Raised by a customer",
                {"title": "邮件无法发送", "description": "Outlook 报错 0x800CCC0E。"},
            ),
            ex.answer("The incident logged", ex.INCIDENT_LOGGED),
        ],
    )
    def create(self, request):
        values = self._input(s.IncidentCreateInputSerializer)
        user = request.user
        if user.is_customer:
            via_token = isinstance(request.successful_authenticator, ApiTokenAuthentication)
            values["channel"] = Channel.API if via_token else Channel.PORTAL
        else:
            values.setdefault("channel", Channel.API)
        incident = services.incident_create(actor=user, **values)
        # The answer comes from the service's instance: its relations are the rows this
        # request named, so no re-read of the incident with its page's joins. A new
        # incident has no watchers, and the CIs the request named.
        prefetched_set(incident, "watchers", [])
        prefetched_set(incident, "configuration_items", values.get("configuration_items") or [])
        return self._answer(incident, status.HTTP_201_CREATED)

    @extend_schema(
        summary=_("Edit an incident"),
        description=_(
            "Descriptive fields only; state changes go through the actions. Send If-Match "
            "(412 when stale) or `version` (409 when stale)."
        ),
        request=s.IncidentUpdateInputSerializer,
        parameters=[_IF_MATCH],
        responses={200: s.IncidentSerializer, **_ERRORS, **_CONFLICTS},
    )
    def partial_update(self, request, pk=None):
        incident = self.get_object()
        values = self._input(s.IncidentUpdateInputSerializer)
        version = values.pop("version", None)
        incident = self._guarded(
            incident,
            lambda: services.incident_update(
                actor=request.user, incident=incident, expected_version=version, **values
            ),
        )
        return self._respond(incident)

    @_transition_schema(
        s.AssignInputSerializer,
        summary=_("Assign"),
        description=_("To a support group and/or a member of it; a new incident is assigned."),
    )
    @action(detail=True, methods=["post"])
    def assign(self, request, pk=None):
        incident = self.get_object()
        values = self._input(s.AssignInputSerializer)
        incident = self._guarded(
            incident,
            lambda: services.incident_assign(
                actor=request.user,
                incident=incident,
                group=values.get("group"),
                assignee=values.get("assignee"),
                expected_version=values.get("version"),
            ),
        )
        return self._respond(incident)

    @_transition_schema(s.VersionInputSerializer, summary=_("Assign to me"))
    @action(detail=True, methods=["post"], url_path="assign-to-me")
    def assign_to_me(self, request, pk=None):
        return self._simple(services.incident_assign_to_me, s.VersionInputSerializer)

    @_transition_schema(s.VersionInputSerializer, summary=_("Start work"))
    @action(detail=True, methods=["post"])
    def start(self, request, pk=None):
        return self._simple(services.incident_start, s.VersionInputSerializer)

    @_transition_schema(s.PendInputSerializer, summary=_("Put on hold"))
    @action(detail=True, methods=["post"])
    def pend(self, request, pk=None):
        return self._simple(services.incident_pend, s.PendInputSerializer)

    @_transition_schema(s.VersionInputSerializer, summary=_("Resume work"))
    @action(detail=True, methods=["post"])
    def resume(self, request, pk=None):
        return self._simple(services.incident_resume, s.VersionInputSerializer)

    @_transition_schema(
        s.ResolveInputSerializer,
        summary=_("Resolve"),
        description=_("Resolution code and notes are required; open child incidents follow."),
        examples=[
            ex.given(
                "Resolved with a workaround",
                {
                    "code": "solved_workaround",
                    "notes": "Restarted the print spooler; the driver update is planned.",
                    "version": 3,
                },
            ),
            ex.answer("The incident resolved", ex.INCIDENT_RESOLVED),
        ],
    )
    @action(detail=True, methods=["post"])
    def resolve(self, request, pk=None):
        return self._simple(services.incident_resolve, s.ResolveInputSerializer)

    @_transition_schema(s.VersionInputSerializer, summary=_("Close"))
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        return self._simple(services.incident_close, s.VersionInputSerializer)

    @_transition_schema(s.ReasonInputSerializer, summary=_("Reopen"))
    @action(detail=True, methods=["post"])
    def reopen(self, request, pk=None):
        return self._simple(services.incident_reopen, s.ReasonInputSerializer)

    @_transition_schema(
        s.ReasonInputSerializer,
        summary=_("Cancel"),
        description=_("Managers only; new, assigned or in-progress incidents."),
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        return self._simple(services.incident_cancel, s.ReasonInputSerializer)

    @_transition_schema(
        s.VersionInputSerializer,
        summary=_("Confirm the resolution (customer)"),
        description=_("The caller's side accepts the resolution; the incident closes."),
    )
    @action(detail=True, methods=["post"])
    def confirm(self, request, pk=None):
        return self._simple(services.incident_confirm_resolution, s.VersionInputSerializer)

    @_transition_schema(
        s.ReasonInputSerializer,
        summary=_("Reject the resolution (customer)"),
        description=_("Back to in progress; the reopen count goes up."),
    )
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        return self._simple(services.incident_reject_resolution, s.ReasonInputSerializer)

    @_transition_schema(s.DeclareMajorInputSerializer, summary=_("Declare a major incident"))
    @action(detail=True, methods=["post"], url_path="declare-major")
    def declare_major(self, request, pk=None):
        return self._simple(services.incident_declare_major, s.DeclareMajorInputSerializer)

    def _simple(self, service, input_serializer):
        """Validate the body, then run one service under the version preconditions."""
        incident = self.get_object()
        values = self._input(input_serializer)
        version = values.pop("version", None)
        incident = self._guarded(
            incident,
            lambda: service(actor=self.request.user, incident=incident, **values),
            body_version=version,
        )
        return self._respond(incident)

    @extend_schema(
        summary=_("Rate the resolution (customer)"),
        request=s.RateInputSerializer,
        responses={201: s.SatisfactionRatingSerializer, **_ERRORS, 409: _CONFLICTS[409]},
    )
    @action(detail=True, methods=["post"])
    def rate(self, request, pk=None):
        incident = self.get_object()
        values = self._input(s.RateInputSerializer)
        rating = services.incident_rate(actor=request.user, incident=incident, **values)
        return Response(s.SatisfactionRatingSerializer(rating).data, status=201)

    @extend_schema(
        summary=_("Major-incident communications log"),
        responses={200: s.MajorIncidentUpdateSerializer(many=True), **_ERRORS},
    )
    @action(detail=True, methods=["get"], url_path="major-updates", pagination_class=None)
    def major_updates(self, request, pk=None):
        incident = self.get_object()
        updates = incident.major_updates.select_related("author")
        return Response(s.MajorIncidentUpdateSerializer(updates, many=True).data)

    @extend_schema(
        summary=_("Send a major-incident update"),
        request=s.MajorIncidentUpdateInputSerializer,
        responses={201: s.MajorIncidentUpdateSerializer, **_ERRORS, 409: _CONFLICTS[409]},
    )
    @major_updates.mapping.post
    def major_update_create(self, request, pk=None):
        incident = self.get_object()
        values = self._input(s.MajorIncidentUpdateInputSerializer)
        update = services.incident_major_update(actor=request.user, incident=incident, **values)
        return Response(s.MajorIncidentUpdateSerializer(update).data, status=201)

    @extend_schema(
        summary=_("Watch"),
        request=s.WatchInputSerializer,
        responses={204: OpenApiResponse(description=_("Watching.")), **_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def watch(self, request, pk=None):
        return self._watch(watch=True)

    @extend_schema(
        summary=_("Stop watching"),
        request=s.WatchInputSerializer,
        responses={204: OpenApiResponse(description=_("Not watching.")), **_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def unwatch(self, request, pk=None):
        return self._watch(watch=False)

    def _watch(self, *, watch: bool) -> Response:
        incident = self.get_object()
        values = self._input(s.WatchInputSerializer)
        user = values.get("user") or self.request.user
        services.incident_watch(actor=self.request.user, incident=incident, user=user, watch=watch)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary=_("Comments"),
        description=_("Public replies and, for the support side, internal work notes."),
        responses={200: s.CommentSerializer(many=True), **_ERRORS},
    )
    @action(detail=True, methods=["get"], pagination_class=None)
    def comments(self, request, pk=None):
        incident = self.get_object()
        comments = comment_list(ticket=incident, user=request.user)
        return Response(s.CommentSerializer(comments, many=True).data)

    @extend_schema(
        summary=_("Reply or add a work note"),
        description=_(
            "A customer's reply to an incident waiting on the customer resumes it. "
            "Customers may only write public replies."
        ),
        request=s.CommentInputSerializer,
        responses={201: s.CommentSerializer, **_ERRORS, 409: _CONFLICTS[409]},
    )
    @comments.mapping.post
    def comment_create(self, request, pk=None):
        incident = self.get_object()
        values = self._input(s.CommentInputSerializer)
        comment = services.incident_comment(actor=request.user, incident=incident, **values)
        return Response(s.CommentSerializer(comment).data, status=201)

    @extend_schema(
        summary=_("Attachments"),
        responses={200: s.AttachmentSerializer(many=True), **_ERRORS},
    )
    @action(
        detail=True,
        methods=["get"],
        pagination_class=None,
        parser_classes=[MultiPartParser, FormParser, JSONParser],
    )
    def attachments(self, request, pk=None):
        incident = self.get_object()
        files = attachment_list(ticket=incident, user=request.user)
        return Response(
            s.AttachmentSerializer(files, many=True, context=self.get_serializer_context()).data
        )

    @extend_schema(
        summary=_("Attach a file"),
        request={"multipart/form-data": s.AttachmentInputSerializer},
        responses={201: s.AttachmentSerializer, **_ERRORS},
    )
    @attachments.mapping.post
    def attachment_create(self, request, pk=None):
        incident = self.get_object()
        values = self._input(s.AttachmentInputSerializer)
        with transaction.atomic():
            attachment = attachment_add(
                ticket=incident, actor=request.user, uploaded_file=values["file"]
            )
        return Response(
            s.AttachmentSerializer(attachment, context=self.get_serializer_context()).data,
            status=201,
        )

    @extend_schema(
        summary=_("Affected services and customers"),
        description=_(
            "The business services the incident's service and configuration items affect "
            "downstream, and the customers those services serve (CMDB impact analysis). "
            "For the support side."
        ),
        responses={200: s.IncidentAffectedSerializer, **_ERRORS},
    )
    @action(detail=True, methods=["get"], pagination_class=None)
    def affected(self, request, pk=None):
        summary = incident_affected(incident=self.get_object())
        value = {
            "services": summary.services if summary else [],
            "organisations": summary.organisations if summary else [],
        }
        return Response(s.IncidentAffectedSerializer(value).data)

    @extend_schema(
        summary=_("Timeline"),
        description=_("Comments, attachments and audit events in time order, as you may see them."),
        responses={200: s.TimelineEntrySerializer(many=True), **_ERRORS},
    )
    @action(detail=True, methods=["get"], pagination_class=None)
    def timeline(self, request, pk=None):
        incident = self.get_object()
        entries = ticket_timeline(ticket=incident, user=request.user)
        return Response(
            s.TimelineEntrySerializer(
                entries, many=True, context=self.get_serializer_context()
            ).data
        )
