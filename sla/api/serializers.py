"""Serializers of the SLA API. Definitions (agreements, targets, calendars, days) are plain
reference data: ModelSerializers whose validation also runs the model's `clean()`, so the
API refuses what the admin refuses, with the same messages per field."""

import copy

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import Organisation, SupportGroup, User
from config_items.models import ConfigurationItem
from core.api.serializers import CachedFieldsSerializer, ref
from core.choices import Priority
from incidents.models import Category, Incident
from sla.calendars import calendar_changed, calendar_spec_load
from sla.choices import ClockState
from sla.models import (
    Agreement,
    BusinessCalendar,
    CalendarDay,
    Clock,
    ClockEvent,
    EscalationAction,
    ServiceOutage,
    Target,
    WorkingInterval,
)
from sla.services import clock_elapsed
from sla.tasks import clocks_recompute_task

MIDNIGHT = WorkingInterval._meta.get_field("end").to_python("00:00")


def _services():
    return ConfigurationItem.objects.exclude(ci_class__service_kind="")


def _raise_as_drf(error: DjangoValidationError):
    detail = error.message_dict if hasattr(error, "error_dict") else error.messages
    raise serializers.ValidationError(detail) from error


def _model_clean(serializer: serializers.ModelSerializer, attrs: dict) -> None:
    """Run the model's clean() on the instance as it would be saved (M2M left out)."""
    model = serializer.Meta.model
    instance = copy.copy(serializer.instance) if serializer.instance else model()
    concrete = {f.name for f in model._meta.concrete_fields}
    for name, value in attrs.items():
        if name in concrete:
            setattr(instance, name, value)
    try:
        instance.clean()
    except DjangoValidationError as error:
        _raise_as_drf(error)


def target_recompute_enqueue(target: Target) -> None:
    """After commit, recompute the live clocks of an edited target from their histories."""
    transaction.on_commit(lambda: clocks_recompute_task.delay(target_id=target.pk))


class TargetRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Target
        fields = ["id", "name", "metric", "is_active"]


class AgreementSerializer(serializers.ModelSerializer):
    """An SLA, OLA or underpinning contract; services, organisations and support groups are
    lists of ids (empty: every one)."""

    services = serializers.PrimaryKeyRelatedField(
        queryset=_services(), many=True, required=False, help_text=_("Empty: every service.")
    )
    targets = ref(TargetRefSerializer, many=True)

    class Meta:
        model = Agreement
        fields = [
            "id",
            "kind",
            "name",
            "reference",
            "description",
            "status",
            "valid_from",
            "valid_to",
            "services",
            "organisations",
            "support_groups",
            "supplier",
            "targets",
            "created_at",
            "updated_at",
        ]
        extra_kwargs = {"organisations": {"required": False}, "support_groups": {"required": False}}

    def validate(self, attrs):
        valid_from = attrs.get("valid_from", getattr(self.instance, "valid_from", None))
        valid_to = attrs.get("valid_to", getattr(self.instance, "valid_to", None))
        if valid_from and valid_to and valid_to < valid_from:
            raise serializers.ValidationError(
                {"valid_to": [_("The end of the period must not be before its start.")]}
            )
        _model_clean(self, attrs)
        return attrs


class EscalationActionSerializer(serializers.ModelSerializer):
    """What happens at a threshold (or at 100 %, the breach)."""

    users = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True), many=True, required=False
    )
    group = serializers.PrimaryKeyRelatedField(
        queryset=SupportGroup.objects.all(), required=False, allow_null=True
    )

    class Meta:
        model = EscalationAction
        fields = ["id", "at_percent", "action", "users", "group", "priority"]
        read_only_fields = ["id"]

    def validate(self, attrs):
        instance = EscalationAction(**{k: v for k, v in attrs.items() if k != "users"})
        try:
            instance.clean()
        except DjangoValidationError as error:
            _raise_as_drf(error)
        return attrs


class TargetSerializer(serializers.ModelSerializer):
    """A target with its escalation actions. Writing `actions` replaces every action of the
    target in the same transaction; leaving it out keeps them."""

    services = serializers.PrimaryKeyRelatedField(
        queryset=_services(), many=True, required=False, help_text=_("Empty: every service.")
    )
    organisations = serializers.PrimaryKeyRelatedField(
        queryset=Organisation.objects.all(),
        many=True,
        required=False,
        help_text=_("Empty: every organisation."),
    )
    categories = serializers.PrimaryKeyRelatedField(
        queryset=Category.objects.all(),
        many=True,
        required=False,
        help_text=_("Empty: every category."),
    )
    priorities = serializers.ListField(
        child=serializers.ChoiceField(choices=Priority.choices),
        required=False,
        help_text=_("Empty: every priority."),
    )
    actions = EscalationActionSerializer(many=True, required=False)

    class Meta:
        model = Target
        fields = [
            "id",
            "agreement",
            "name",
            "metric",
            "record_type",
            "priorities",
            "services",
            "organisations",
            "categories",
            "duration",
            "calendar",
            "pause_on",
            "thresholds",
            "availability_percent",
            "is_active",
            "actions",
        ]

    def validate_record_type(self, value: str) -> str:
        if not value:
            return value
        app_label, _dot, model = value.lower().partition(".")
        if not ContentType.objects.filter(app_label=app_label, model=model).exists():
            raise serializers.ValidationError(
                _("Unknown record type %(type)s: use app_label.model, e.g. incidents.incident.")
                % {"type": value}
            )
        return f"{app_label}.{model}"

    def validate(self, attrs):
        _model_clean(self, attrs)
        actions = attrs.get("actions")
        if actions is not None:
            thresholds = attrs.get("thresholds", getattr(self.instance, "thresholds", None))
            allowed = {*(thresholds or []), 100}
            errors = [
                {
                    "at_percent": [
                        _("%(percent)s %% is neither a threshold of the target nor 100.")
                        % {"percent": action["at_percent"]}
                    ]
                }
                if action["at_percent"] not in allowed
                else {}
                for action in actions
            ]
            if any(errors):
                raise serializers.ValidationError({"actions": errors})
        return attrs

    def _actions_replace(self, target: Target, actions: list[dict]) -> None:
        target.actions.all().delete()
        for values in actions:
            values = dict(values)
            users = values.pop("users", [])
            action = EscalationAction.objects.create(target=target, **values)
            if users:
                action.users.set(users)

    @transaction.atomic
    def create(self, validated_data):
        actions = validated_data.pop("actions", None)
        target = super().create(validated_data)
        if actions:
            self._actions_replace(target, actions)
        return target

    @transaction.atomic
    def update(self, instance, validated_data):
        actions = validated_data.pop("actions", None)
        target = super().update(instance, validated_data)
        if actions is not None:
            self._actions_replace(target, actions)
        target_recompute_enqueue(target)
        return target


class WorkingIntervalSerializer(serializers.ModelSerializer):
    class Meta:
        model = WorkingInterval
        fields = ["weekday", "start", "end"]

    def validate(self, attrs):
        if attrs["end"] <= attrs["start"] and attrs["end"] != MIDNIGHT:
            raise serializers.ValidationError(
                {"end": [_("The end must be after the start (00:00 means midnight).")]}
            )
        return attrs


class CalendarDayNestedSerializer(serializers.ModelSerializer):
    class Meta:
        model = CalendarDay
        fields = ["id", "date", "kind", "name", "hours_of", "source"]
        read_only_fields = ["id", "source"]


def _overlap_errors(intervals: list[dict]) -> list[dict]:
    """Per interval: an error when it overlaps an earlier one on the same weekday."""
    errors = []
    for index, interval in enumerate(intervals):
        end = interval["end"] if interval["end"] != MIDNIGHT else None
        clash = any(
            other["weekday"] == interval["weekday"]
            and (end is None or other["start"] < end)
            and (other["end"] == MIDNIGHT or interval["start"] < other["end"])
            for other in intervals[:index]
        )
        errors.append(
            {"start": [_("This overlaps another interval of the same weekday.")]} if clash else {}
        )
    return errors


class BusinessCalendarSerializer(serializers.ModelSerializer):
    """A calendar with its weekly working hours and its days. Writing `intervals` or `days`
    replaces them all; every change bumps `version` and recomputes the live clocks."""

    intervals = WorkingIntervalSerializer(many=True, required=False)
    days = CalendarDayNestedSerializer(many=True, required=False)

    class Meta:
        model = BusinessCalendar
        fields = [
            "id",
            "name",
            "description",
            "time_zone",
            "is_24x7",
            "holiday_country",
            "version",
            "updated_at",
            "intervals",
            "days",
        ]
        read_only_fields = ["version", "updated_at"]

    def validate_holiday_country(self, value: str) -> str:
        return value.strip().upper()

    def validate(self, attrs):
        errors = {}
        intervals = attrs.get("intervals")
        if intervals:
            overlaps = _overlap_errors(intervals)
            if any(overlaps):
                errors["intervals"] = overlaps
        days = attrs.get("days")
        if days:
            seen, day_errors = set(), []
            for day in days:
                day_errors.append(
                    {"date": [_("Each date may appear once.")]} if day["date"] in seen else {}
                )
                seen.add(day["date"])
            if any(day_errors):
                errors["days"] = day_errors
        if errors:
            raise serializers.ValidationError(errors)
        _model_clean(self, attrs)
        return attrs

    def _replace(self, calendar: BusinessCalendar, intervals, days) -> None:
        if intervals is not None:
            calendar.intervals.all().delete()
            WorkingInterval.objects.bulk_create(
                WorkingInterval(calendar=calendar, **values) for values in intervals
            )
        if days is not None:
            calendar.days.all().delete()
            CalendarDay.objects.bulk_create(
                CalendarDay(calendar=calendar, **values) for values in days
            )

    @transaction.atomic
    def create(self, validated_data):
        intervals = validated_data.pop("intervals", None)
        days = validated_data.pop("days", None)
        calendar = super().create(validated_data)
        self._replace(calendar, intervals, days)
        return calendar

    @transaction.atomic
    def update(self, instance, validated_data):
        intervals = validated_data.pop("intervals", None)
        days = validated_data.pop("days", None)
        calendar = super().update(instance, validated_data)
        self._replace(calendar, intervals, days)
        calendar_changed(calendar=calendar)
        return calendar


class CalendarDaySerializer(serializers.ModelSerializer):
    """One holiday or extra working day of a calendar; `source` is empty for days entered
    by hand (an import never overwrites them)."""

    class Meta:
        model = CalendarDay
        fields = ["id", "calendar", "date", "kind", "name", "hours_of", "source"]
        read_only_fields = ["source"]


class ServiceOutageSerializer(serializers.ModelSerializer):
    service_name = serializers.CharField(source="service.name", read_only=True)
    incident_number = serializers.CharField(
        source="incident.number", read_only=True, allow_null=True, default=None
    )
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = ServiceOutage
        fields = [
            "id",
            "service",
            "service_name",
            "started_at",
            "ended_at",
            "is_planned",
            "incident",
            "incident_number",
            "description",
            "created_by",
            "created_at",
        ]


class ServiceOutageCreateInputSerializer(CachedFieldsSerializer):
    service = serializers.PrimaryKeyRelatedField(queryset=_services().select_related("ci_class"))
    started_at = serializers.DateTimeField()
    ended_at = serializers.DateTimeField(
        required=False, allow_null=True, help_text=_("Empty while the outage goes on.")
    )
    is_planned = serializers.BooleanField(
        default=False, help_text=_("Agreed maintenance: excluded from the agreed time.")
    )
    incident = serializers.PrimaryKeyRelatedField(
        queryset=Incident.objects.all(), required=False, allow_null=True
    )
    description = serializers.CharField(required=False, allow_blank=True, default="")


class ServiceOutageUpdateInputSerializer(CachedFieldsSerializer):
    ended_at = serializers.DateTimeField(
        required=False, help_text=_("Ends an outage that is still going on.")
    )
    incident = serializers.PrimaryKeyRelatedField(
        queryset=Incident.objects.all(), required=False, allow_null=True
    )
    description = serializers.CharField(required=False, allow_blank=True)


class AgreementRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Agreement
        fields = ["id", "kind", "name"]


class ClockEventSerializer(serializers.ModelSerializer):
    actor = serializers.SlugRelatedField(slug_field="username", read_only=True)
    elapsed_seconds = serializers.SerializerMethodField()

    class Meta:
        model = ClockEvent
        fields = [
            "id",
            "kind",
            "occurred_at",
            "percent",
            "elapsed_seconds",
            "reason",
            "actor",
            "data",
            "handled_at",
        ]

    def get_elapsed_seconds(self, event) -> int:
        return int(event.elapsed.total_seconds())


class ClockSerializer(serializers.ModelSerializer):
    """A clock with the target, agreement and calendar that drive it, why that target was
    chosen, and the business time counted and left at the moment of the request."""

    record_type = serializers.SerializerMethodField()
    record_id = serializers.IntegerField(source="object_id", read_only=True)
    target_name = serializers.CharField(source="target.name", read_only=True)
    agreement = ref(AgreementRefSerializer, source="target.agreement")
    calendar_name = serializers.CharField(source="calendar.name", read_only=True)
    target_seconds = serializers.SerializerMethodField()
    elapsed_seconds = serializers.SerializerMethodField()
    remaining_seconds = serializers.SerializerMethodField()
    # The next warning or breach of a running clock (annotated by the view), else null.
    due_at = serializers.DateTimeField(read_only=True, allow_null=True)

    class Meta:
        model = Clock
        fields = [
            "id",
            "record_type",
            "record_id",
            "kind",
            "metric",
            "state",
            "target",
            "target_name",
            "agreement",
            "calendar",
            "calendar_name",
            "match_reason",
            "target_seconds",
            "elapsed_seconds",
            "remaining_seconds",
            "started_at",
            "stopped_at",
            "paused_at",
            "pause_reason",
            "deadline_at",
            "breached_at",
            "due_at",
            "service",
            "organisation",
            "support_group",
            "priority",
            "updated_at",
        ]

    def _now(self):
        if "now" not in self.context:
            self.context["now"] = timezone.now()
        return self.context["now"]

    def _elapsed(self, clock: Clock):
        """Business time counted now; one calendar load per calendar and request."""
        if clock.state != ClockState.RUNNING or clock.segment_started_at is None:
            return clock.elapsed
        specs = self.context.setdefault("calendar_specs", {})
        key = (clock.calendar_id, clock.calendar.version)
        if key not in specs:
            specs[key] = calendar_spec_load(clock.calendar)
        return clock_elapsed(clock, specs[key], self._now())

    def get_record_type(self, clock) -> str:
        content_type = ContentType.objects.get_for_id(clock.content_type_id)
        return f"{content_type.app_label}.{content_type.model}"

    def get_target_seconds(self, clock) -> int:
        return int(clock.target_duration.total_seconds())

    def get_elapsed_seconds(self, clock) -> int:
        return int(self._elapsed(clock).total_seconds())

    @extend_schema_field(
        serializers.IntegerField(
            allow_null=True,
            help_text=_("Business time left (negative: overdue); null once the clock stopped."),
        )
    )
    def get_remaining_seconds(self, clock) -> int | None:
        if not clock.is_live:
            return None
        return int((clock.target_duration - self._elapsed(clock)).total_seconds())


class ClockDetailSerializer(ClockSerializer):
    events = ClockEventSerializer(many=True, read_only=True)

    class Meta(ClockSerializer.Meta):
        fields = [*ClockSerializer.Meta.fields, "events"]
