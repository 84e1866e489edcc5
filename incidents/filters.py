"""FilterSet of incident lists, shared by the agent queue pages and the API (STYLE.md §3)."""

import django_filters
from django.contrib.postgres.fields import ArrayField
from django.db.models import Func, Q, TextField
from django.utils.translation import gettext_lazy as _

from accounts.models import Organisation, SupportGroup, User
from config_items.models import ConfigurationItem

from .choices import Channel, IncidentStatus
from .models import Category, Incident
from .querysets import open_q


class TitleBigrams(Func):
    """itsm_bigrams(UPPER(title::text)): the expression of the incident_title_bigram index
    (migration 0004)."""

    function = "itsm_bigrams"
    template = "%(function)s(UPPER(%(expressions)s::text))"
    output_field = ArrayField(TextField())


class IncidentFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label=_("Search"))
    status = django_filters.MultipleChoiceFilter(
        choices=IncidentStatus.choices, label=_("State"), distinct=False
    )
    is_open = django_filters.BooleanFilter(method="filter_is_open", label=_("Open only"))
    priority = django_filters.MultipleChoiceFilter(
        choices=[(i, str(i)) for i in range(1, 6)], label=_("Priority"), distinct=False
    )
    assignment_group = django_filters.ModelChoiceFilter(
        queryset=SupportGroup.objects.all(), label=_("Assignment group")
    )
    assignee = django_filters.ModelChoiceFilter(queryset=User.objects.all(), label=_("Assignee"))
    is_unassigned = django_filters.BooleanFilter(
        field_name="assignee", lookup_expr="isnull", label=_("Unassigned")
    )
    organisation = django_filters.ModelChoiceFilter(
        queryset=Organisation.objects.all(), label=_("Organisation")
    )
    service = django_filters.ModelChoiceFilter(
        queryset=ConfigurationItem.objects.exclude(ci_class__service_kind=""), label=_("Service")
    )
    category = django_filters.ModelChoiceFilter(
        queryset=Category.objects.filter(parent=None), label=_("Category")
    )
    channel = django_filters.ChoiceFilter(choices=Channel.choices, label=_("Channel"))
    is_major = django_filters.BooleanFilter(label=_("Major incidents"))
    created_after = django_filters.IsoDateTimeFilter(
        field_name="created_at", lookup_expr="gte", label=_("Created from")
    )
    created_before = django_filters.IsoDateTimeFilter(
        field_name="created_at", lookup_expr="lt", label=_("Created before")
    )

    class Meta:
        model = Incident
        fields = [
            "q",
            "status",
            "is_open",
            "priority",
            "assignment_group",
            "assignee",
            "is_unassigned",
            "organisation",
            "service",
            "category",
            "channel",
            "is_major",
            "created_after",
            "created_before",
        ]

    def filter_q(self, queryset, name, value):
        """Number or words of the title (trigram index: works for Chinese and English)."""
        value = value.strip()
        if not value:
            return queryset
        if value.upper().startswith("INC") and value[3:].isdigit():
            return queryset.filter(number=value.upper())
        if len(value) == 2:
            # No trigram in two characters (most Chinese words): the bigram index narrows
            # the rows, the LIKE keeps the meaning of icontains.
            queryset = queryset.alias(title_bigrams=TitleBigrams("title")).filter(
                title_bigrams__contains=[value.upper()]
            )
        return queryset.filter(Q(title__icontains=value))

    def filter_is_open(self, queryset, name, value):
        if value is None:
            return queryset
        if value:
            return queryset.filter(open_q())
        return queryset.exclude(open_q())
