"""REST endpoints of service level management (ISO/IEC 20000-1:2018 8.3.3): agreements,
targets with their escalation actions, business calendars and their days, service outages
and the SLA clocks of records.

The whole /api/v1/sla/ surface is for staff: every endpoint needs the model's view
permission (agents, managers, administrators), writes the add/change/delete permission
(managers, administrators); customers get 403. Clocks and their events are written by the
engine only and are read-only here.

Calendar writes bump the calendar's version and target writes recompute the live clocks
after commit (`sla.calendars.calendar_changed`, `clocks_recompute_task`).
"""

import datetime as dt

import pghistory
from django.db import transaction
from django.db.models import OuterRef, Prefetch, ProtectedError, Subquery
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.serializers import CachedFieldsSerializer, ErrorSerializer
from core.exceptions import DomainError
from sla import selectors
from sla.availability import outage_end, outage_record
from sla.calendars import calendar_changed
from sla.choices import AgreementKind, Metric
from sla.filters import (
    AgreementFilterSet,
    CalendarDayFilterSet,
    ClockFilterSet,
    ServiceOutageFilterSet,
    TargetFilterSet,
)
from sla.models import (
    Agreement,
    BusinessCalendar,
    CalendarDay,
    Clock,
    ClockDue,
    ClockEvent,
    EscalationAction,
    ServiceOutage,
    Target,
)

from . import serializers as s

_ERRORS = {
    401: OpenApiResponse(ErrorSerializer, description=_("Not signed in.")),
    403: OpenApiResponse(ErrorSerializer, description=_("Not allowed (staff only).")),
    404: OpenApiResponse(ErrorSerializer, description=_("No such object.")),
}
_WRITE_ERRORS = {400: OpenApiResponse(ErrorSerializer, description=_("Invalid input.")), **_ERRORS}
_DELETE_ERRORS = {
    409: OpenApiResponse(ErrorSerializer, description=_("Still in use (protected).")),
    **_ERRORS,
}


def _crud_schema(serializer, *, create_examples=(), update_examples=()):
    """The documented answers of a plain CRUD viewset."""
    return extend_schema_view(
        list=extend_schema(responses={200: serializer(many=True), **_ERRORS}),
        retrieve=extend_schema(responses={200: serializer, **_ERRORS}),
        create=extend_schema(
            responses={201: serializer, **_WRITE_ERRORS}, examples=list(create_examples)
        ),
        update=extend_schema(
            responses={200: serializer, **_WRITE_ERRORS}, examples=list(update_examples)
        ),
        partial_update=extend_schema(responses={200: serializer, **_WRITE_ERRORS}),
        destroy=extend_schema(responses={204: None, **_DELETE_ERRORS}),
    )


class _ProtectedDestroyMixin:
    """A delete refused by a PROTECT foreign key answers 409 `protected`, not 500."""

    protected_message = _("This is still in use and cannot be deleted.")

    def perform_destroy(self, instance):
        try:
            with transaction.atomic():
                instance.delete()
        except ProtectedError as error:
            raise DomainError(self.protected_message, code="protected", status=409) from error


@_crud_schema(
    s.AgreementSerializer,
    create_examples=[
        OpenApiExample(
            "An SLA with one customer for two services",
            value={
                "kind": "sla",
                "name": "Online shop gold support",
                "reference": "SLA-2026-007",
                "status": "active",
                "valid_from": "2026-01-01",
                "valid_to": "2026-12-31",
                "services": [12, 14],
                "organisations": [3],
                "support_groups": [],
            },
            request_only=True,
        )
    ],
)
class AgreementViewSet(_ProtectedDestroyMixin, viewsets.ModelViewSet):
    """Service level agreements, operational level agreements and underpinning contracts."""

    serializer_class = s.AgreementSerializer
    filterset_class = AgreementFilterSet
    ordering_fields = ["name", "valid_from", "id"]
    protected_message = _("Clocks still run on a target of this agreement; retire it instead.")
    queryset = Agreement.objects.prefetch_related(
        "services", "organisations", "support_groups", "targets"
    ).order_by("-pk")


@_crud_schema(
    s.TargetSerializer,
    create_examples=[
        OpenApiExample(
            "Resolve P1 incidents within 4 business hours",
            value={
                "agreement": 1,
                "name": "P1 resolution",
                "metric": "resolution",
                "record_type": "incidents.incident",
                "priorities": [1],
                "duration": "04:00:00",
                "calendar": 2,
                "pause_on": ["awaiting_customer"],
                "thresholds": [50, 75, 90],
                "actions": [
                    {"at_percent": 75, "action": "notify_group_manager"},
                    {"at_percent": 100, "action": "raise_priority", "priority": 1},
                    {"at_percent": 100, "action": "reassign_group", "group": 4},
                ],
            },
            request_only=True,
        )
    ],
)
class TargetViewSet(_ProtectedDestroyMixin, viewsets.ModelViewSet):
    """Targets of agreements with their escalation actions (written as one nested list:
    a write that names `actions` replaces them all, atomically)."""

    serializer_class = s.TargetSerializer
    filterset_class = TargetFilterSet
    ordering_fields = ["name", "id"]
    protected_message = _("Clocks have run on this target; deactivate it instead.")
    queryset = (
        Target.objects.select_related("agreement", "calendar")
        .prefetch_related(
            "services",
            "organisations",
            "categories",
            Prefetch("actions", queryset=EscalationAction.objects.prefetch_related("users")),
        )
        .order_by("-pk")
    )


@_crud_schema(
    s.BusinessCalendarSerializer,
    create_examples=[
        OpenApiExample(
            "Office hours in Shanghai with Chinese public holidays",
            value={
                "name": "Shanghai office hours",
                "time_zone": "Asia/Shanghai",
                "is_24x7": False,
                "holiday_country": "CN",
                "intervals": [
                    {"weekday": day, "start": start, "end": end}
                    for day in range(5)
                    for start, end in (("09:00", "12:00"), ("13:30", "18:00"))
                ],
                "days": [
                    {"date": "2026-10-01", "kind": "holiday", "name": "National Day"},
                    {
                        "date": "2026-09-27",
                        "kind": "working_day",
                        "name": "Make-up working day",
                        "hours_of": 0,
                    },
                ],
            },
            request_only=True,
        )
    ],
)
class BusinessCalendarViewSet(_ProtectedDestroyMixin, viewsets.ModelViewSet):
    """Business calendars with their working hours and days; a write that names
    `intervals` or `days` replaces them all. Every change bumps `version` and recomputes
    the live clocks that run on the calendar."""

    serializer_class = s.BusinessCalendarSerializer
    ordering_fields = ["name", "id"]
    protected_message = _("Targets or clocks use this calendar.")
    queryset = BusinessCalendar.objects.prefetch_related("intervals", "days").order_by("-pk")


@_crud_schema(s.CalendarDaySerializer)
class CalendarDayViewSet(viewsets.ModelViewSet):
    """Holidays and extra working days of calendars (filter by `calendar` and `year`)."""

    serializer_class = s.CalendarDaySerializer
    filterset_class = CalendarDayFilterSet
    ordering_fields = ["date", "id"]
    queryset = CalendarDay.objects.order_by("-pk")

    def perform_create(self, serializer):
        with transaction.atomic():
            day = serializer.save()
            calendar_changed(calendar=day.calendar)

    def perform_update(self, serializer):
        with transaction.atomic():
            previous = serializer.instance.calendar
            day = serializer.save()
            calendar_changed(calendar=day.calendar)
            if previous.pk != day.calendar_id:
                calendar_changed(calendar=previous)

    def perform_destroy(self, instance):
        with transaction.atomic():
            instance.delete()
            calendar_changed(calendar=instance.calendar)


@extend_schema_view(
    list=extend_schema(
        summary=_("List service outages"),
        responses={200: s.ServiceOutageSerializer(many=True), **_ERRORS},
    ),
    retrieve=extend_schema(responses={200: s.ServiceOutageSerializer, **_ERRORS}),
    destroy=extend_schema(responses={204: None, **_ERRORS}),
)
class ServiceOutageViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Service outages and agreed maintenance windows (availability, 8.7.1). Recorded and
    ended through `sla.availability`; an outage's history is kept by pghistory."""

    serializer_class = s.ServiceOutageSerializer
    filterset_class = ServiceOutageFilterSet
    ordering_fields = ["started_at", "id"]
    queryset = ServiceOutage.objects.select_related("service", "incident", "created_by").order_by(
        "-pk"
    )

    @extend_schema(
        summary=_("Record an outage or a maintenance window"),
        request=s.ServiceOutageCreateInputSerializer,
        responses={
            201: s.ServiceOutageSerializer,
            409: OpenApiResponse(
                ErrorSerializer, description=_("Overlaps another outage (outage_overlaps).")
            ),
            **_WRITE_ERRORS,
        },
        examples=[
            OpenApiExample(
                "Shop down for 40 minutes",
                value={
                    "service": 12,
                    "started_at": "2026-11-03T08:10:00Z",
                    "ended_at": "2026-11-03T08:50:00Z",
                    "incident": 4711,
                    "description": "Payment gateway timeouts.",
                },
                request_only=True,
            )
        ],
    )
    def create(self, request):
        data = s.ServiceOutageCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        outage = outage_record(actor=request.user, **data.validated_data)
        return Response(s.ServiceOutageSerializer(outage).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary=_("End an outage, or correct its description or incident"),
        request=s.ServiceOutageUpdateInputSerializer,
        responses={
            200: s.ServiceOutageSerializer,
            409: OpenApiResponse(
                ErrorSerializer, description=_("Already ended (outage_already_ended).")
            ),
            **_WRITE_ERRORS,
        },
    )
    def partial_update(self, request, pk=None):
        outage = self.get_object()
        data = s.ServiceOutageUpdateInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        ended_at = values.pop("ended_at", None)
        with transaction.atomic():
            if values:
                with pghistory.context(user=request.user.pk):
                    for name, value in values.items():
                        setattr(outage, name, value)
                    outage.full_clean()
                    outage.save(update_fields=list(values))
            if ended_at is not None:
                outage = outage_end(actor=request.user, outage=outage, ended_at=ended_at)
        outage = self.get_queryset().get(pk=outage.pk)
        return Response(s.ServiceOutageSerializer(outage).data)

    def perform_destroy(self, instance):
        with pghistory.context(user=self.request.user.pk):
            instance.delete()


@extend_schema_view(
    list=extend_schema(
        summary=_("List SLA clocks"),
        description=_(
            "Clocks of records, e.g. `?record_type=incidents.incident&record_id=42`. Business "
            "time is counted at the moment of the request in the clock's calendar."
        ),
        responses={200: s.ClockSerializer(many=True), **_ERRORS},
    ),
    retrieve=extend_schema(
        summary=_("One SLA clock with its history"),
        responses={200: s.ClockDetailSerializer, **_ERRORS},
    ),
)
class ClockViewSet(viewsets.ReadOnlyModelViewSet):
    """SLA clocks (read-only): which target and calendar drive each and why, the business
    time counted and left, and on retrieve the event history an auditor recomputes it from."""

    filterset_class = ClockFilterSet
    ordering_fields = ["started_at", "deadline_at", "id"]
    queryset = (
        Clock.objects.select_related("target__agreement", "calendar")
        .annotate(
            due_at=Subquery(
                ClockDue.objects.filter(clock=OuterRef("pk"))
                .order_by("due_at")
                .values("due_at")[:1]
            )
        )
        .order_by("-pk")
    )

    def get_queryset(self):
        queryset = super().get_queryset()
        if self.action == "retrieve":
            events = ClockEvent.objects.select_related("actor")
            queryset = queryset.prefetch_related(Prefetch("events", queryset=events))
        return queryset

    def get_serializer_class(self):
        return s.ClockDetailSerializer if self.action == "retrieve" else s.ClockSerializer


# ---------------------------------------------------------------- attainment report

ATTAINMENT_PERMISSION = "sla.view_agreement"
ATTAINMENT_DEFAULT_DAYS = 330
ATTAINMENT_MAX_MONTHS = 60


class _MonthField(serializers.DateField):
    """A month as YYYY-MM, cleaned to its first day."""

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m", input_formats=["%Y-%m"], **kwargs)


class _AttainmentQuerySerializerBase(CachedFieldsSerializer):
    group_by = serializers.ChoiceField(
        choices=list(selectors.DASHBOARD_GROUP_BYS),
        default="service",
        help_text=_("The dimension of the rows."),
    )
    kind = serializers.ChoiceField(choices=AgreementKind.choices, required=False)
    metric = serializers.ChoiceField(
        choices=[
            (Metric.RESPONSE, Metric.RESPONSE.label),
            (Metric.RESOLUTION, Metric.RESOLUTION.label),
        ],
        required=False,
    )
    service = serializers.IntegerField(required=False, min_value=1, help_text=_("Service id."))
    organisation = serializers.IntegerField(
        required=False, min_value=1, help_text=_("Organisation id.")
    )
    priority = serializers.IntegerField(required=False, min_value=1, max_value=5)
    group = serializers.IntegerField(required=False, min_value=1, help_text=_("Support group id."))

    def validate(self, attrs):
        today = timezone.localdate()
        date_to = attrs.get("to") or today.replace(day=1)
        date_from = attrs.get("from") or selectors.month_start(
            date_to - dt.timedelta(days=ATTAINMENT_DEFAULT_DAYS)
        )
        if date_from > date_to:
            raise serializers.ValidationError({"from": _("The period must start before it ends.")})
        if len(selectors.months_between(date_from, date_to)) > ATTAINMENT_MAX_MONTHS:
            raise serializers.ValidationError(
                {"from": _("Choose at most %(months)d months.") % {"months": ATTAINMENT_MAX_MONTHS}}
            )
        attrs["from"], attrs["to"] = date_from, date_to
        return attrs


# "from" and "to" are Python keywords, so the query serializer is built with type().
AttainmentQuerySerializer = type(
    "AttainmentQuerySerializer",
    (_AttainmentQuerySerializerBase,),
    {
        "from": _MonthField(
            required=False, help_text=_("First month, YYYY-MM (default: 11 months before `to`).")
        ),
        "to": _MonthField(
            required=False, help_text=_("Last month, YYYY-MM (default: this month).")
        ),
        "__module__": __name__,
    },
)


class AttainmentRowSerializer(CachedFieldsSerializer):
    key = serializers.CharField(
        allow_null=True,
        help_text=_(
            "The id (service, organisation, group), the priority number or the month "
            "(YYYY-MM), as text; null for records without that dimension."
        ),
    )
    label = serializers.CharField()
    met = serializers.IntegerField()
    breached = serializers.IntegerField()
    total = serializers.IntegerField()
    percent = serializers.FloatField(
        allow_null=True, help_text=_("Met of total in %, one decimal; null when total is 0.")
    )


class AttainmentPermission(BasePermission):
    """Staff who may read service level agreements (the dashboard's rule)."""

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.has_perm(ATTAINMENT_PERMISSION))


class AttainmentView(APIView):
    """Attainment of the SLA targets per service, organisation, priority, group or month
    (ISO/IEC 20000-1:2018 9.1), from the monthly rollups: what the SLA dashboard shows."""

    permission_classes = [AttainmentPermission]

    @extend_schema(
        summary=_("SLA attainment report"),
        description=_(
            "Clocks stopped in the months `from`..`to` (inclusive), met and breached, per "
            "value of `group_by`, filtered by the other parameters. Staff only."
        ),
        parameters=[AttainmentQuerySerializer],
        responses={
            200: AttainmentRowSerializer(many=True),
            400: OpenApiResponse(ErrorSerializer, description=_("Invalid input.")),
            401: _ERRORS[401],
            403: _ERRORS[403],
        },
    )
    def get(self, request):
        query = AttainmentQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        values = query.validated_data
        rows = selectors.attainment(
            date_from=values["from"],
            date_to=values["to"],
            group_by=values["group_by"],
            kind=values.get("kind") or None,
            metric=values.get("metric") or None,
            service=values.get("service"),
            organisation=values.get("organisation"),
            priority=values.get("priority"),
            support_group=values.get("group"),
        )
        rows = [{**row, "key": None if row["key"] is None else str(row["key"])} for row in rows]
        return Response(AttainmentRowSerializer(rows, many=True).data)
