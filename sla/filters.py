"""FilterSets of service level management, used by the API (STYLE.md §3)."""

import django_filters
from django.contrib.contenttypes.models import ContentType
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from accounts.models import Organisation
from config_items.models import ConfigurationItem

from .choices import AgreementKind, AgreementStatus, ClockState, Metric
from .models import Agreement, BusinessCalendar, CalendarDay, Clock, ServiceOutage, Target


class AgreementFilterSet(django_filters.FilterSet):
    kind = django_filters.MultipleChoiceFilter(
        choices=AgreementKind.choices, label=_("Kind"), distinct=False
    )
    status = django_filters.MultipleChoiceFilter(
        choices=AgreementStatus.choices, label=_("Status"), distinct=False
    )
    service = django_filters.ModelChoiceFilter(
        queryset=ConfigurationItem.objects.all(),
        field_name="services",
        label=_("Names this service"),
    )
    organisation = django_filters.ModelChoiceFilter(
        queryset=Organisation.objects.all(),
        field_name="organisations",
        label=_("Names this organisation"),
    )

    class Meta:
        model = Agreement
        fields = ["kind", "status", "service", "organisation"]


class TargetFilterSet(django_filters.FilterSet):
    agreement = django_filters.ModelChoiceFilter(
        queryset=Agreement.objects.all(), label=_("Agreement")
    )
    metric = django_filters.ChoiceFilter(choices=Metric.choices, label=_("Metric"))
    calendar = django_filters.ModelChoiceFilter(
        queryset=BusinessCalendar.objects.all(), label=_("Business calendar")
    )
    is_active = django_filters.BooleanFilter(label=_("Active"))

    class Meta:
        model = Target
        fields = ["agreement", "metric", "calendar", "is_active"]


class CalendarDayFilterSet(django_filters.FilterSet):
    calendar = django_filters.ModelChoiceFilter(
        queryset=BusinessCalendar.objects.all(), label=_("Business calendar")
    )
    year = django_filters.NumberFilter(field_name="date", lookup_expr="year", label=_("Year"))

    class Meta:
        model = CalendarDay
        fields = ["calendar", "year", "kind"]


class ServiceOutageFilterSet(django_filters.FilterSet):
    """`from` / `to`: outages that overlap the period (one still going on has no end)."""

    service = django_filters.ModelChoiceFilter(
        queryset=ConfigurationItem.objects.all(), label=_("Service")
    )
    locals()["from"] = django_filters.IsoDateTimeFilter(
        method="filter_from", label=_("Overlapping the period from")
    )
    to = django_filters.IsoDateTimeFilter(
        field_name="started_at", lookup_expr="lt", label=_("Overlapping the period up to")
    )
    is_planned = django_filters.BooleanFilter(label=_("Agreed maintenance"))

    class Meta:
        model = ServiceOutage
        fields = ["service", "from", "to", "is_planned"]

    def filter_from(self, queryset, name, value):
        return queryset.filter(Q(ended_at__isnull=True) | Q(ended_at__gt=value))


class ClockFilterSet(django_filters.FilterSet):
    """Clocks of one record: `record_type=incidents.incident&record_id=42`."""

    record_type = django_filters.CharFilter(
        method="filter_record_type", label=_("Record type (app_label.model)")
    )
    record_id = django_filters.NumberFilter(field_name="object_id", label=_("Record id"))
    state = django_filters.MultipleChoiceFilter(
        choices=ClockState.choices, label=_("State"), distinct=False
    )
    metric = django_filters.ChoiceFilter(choices=Metric.choices, label=_("Metric"))
    kind = django_filters.ChoiceFilter(choices=AgreementKind.choices, label=_("Agreement kind"))
    breached = django_filters.BooleanFilter(
        field_name="breached_at", lookup_expr="isnull", exclude=True, label=_("Breached")
    )
    target = django_filters.ModelChoiceFilter(queryset=Target.objects.all(), label=_("Target"))

    class Meta:
        model = Clock
        fields = ["record_type", "record_id", "state", "metric", "kind", "breached", "target"]

    def filter_record_type(self, queryset, name, value):
        app_label, _dot, model = value.lower().partition(".")
        try:
            content_type = ContentType.objects.get_by_natural_key(app_label, model)
        except ContentType.DoesNotExist:
            return queryset.none()
        return queryset.filter(content_type=content_type)
