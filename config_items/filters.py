"""FilterSets of the CMDB, shared by the CI list page and the API (STYLE.md §3)."""

import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from accounts.models import Organisation, SupportGroup

from .choices import CIStatus, Criticality, Environment
from .models import CIClass, ConfigurationItem, Relationship, RelationshipType
from .schema import ci_class_descendant_ids

ATTRIBUTE_PARAM_PREFIX = "attr."


class ConfigurationItemFilterSet(django_filters.FilterSet):
    """Filters of the CI list; `attr.<key>=<value>` query parameters filter on attributes.

    Multiple-choice filters on plain columns skip django-filter's default DISTINCT: it
    cannot remove anything there and costs a sort of every matching row.
    """

    q = django_filters.CharFilter(method="filter_q", label=_("Search"))
    ci_class = django_filters.ModelChoiceFilter(
        queryset=CIClass.objects.all(),
        method="filter_class",
        label=_("Class"),
        to_field_name="code",
    )
    status = django_filters.MultipleChoiceFilter(
        choices=CIStatus.choices, label=_("Status"), distinct=False
    )
    environment = django_filters.MultipleChoiceFilter(
        choices=Environment.choices, label=_("Environment"), distinct=False
    )
    criticality = django_filters.MultipleChoiceFilter(
        choices=Criticality.choices, label=_("Criticality"), distinct=False
    )
    support_group = django_filters.ModelChoiceFilter(
        queryset=SupportGroup.objects.all(), label=_("Support group")
    )
    organisation = django_filters.ModelChoiceFilter(
        queryset=Organisation.objects.all(),
        field_name="organisations",
        label=_("Organisation"),
        to_field_name="code",
    )
    is_service = django_filters.BooleanFilter(method="filter_is_service", label=_("Services only"))

    class Meta:
        model = ConfigurationItem
        fields = [
            "q",
            "ci_class",
            "status",
            "environment",
            "criticality",
            "support_group",
            "organisation",
            "is_service",
        ]

    def filter_q(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(name__icontains=value) | Q(serial_number=value) | Q(asset_tag=value)
        )

    def filter_class(self, queryset, name, value):
        if value is None:
            return queryset
        return queryset.filter(ci_class_id__in=ci_class_descendant_ids(value.pk))

    def filter_is_service(self, queryset, name, value):
        if value is None:
            return queryset
        return (
            queryset.exclude(ci_class__service_kind="")
            if value
            else queryset.filter(ci_class__service_kind="")
        )

    @property
    def qs(self):
        queryset = super().qs
        attributes = {
            key.removeprefix(ATTRIBUTE_PARAM_PREFIX): value
            for key, value in self.data.items()
            if key.startswith(ATTRIBUTE_PARAM_PREFIX) and value not in ("", None)
        }
        if attributes:
            # Containment uses the GIN index; numbers and booleans match their JSON type.
            typed = {}
            for key, value in attributes.items():
                text = str(value)
                if text.lstrip("-").isdigit():
                    typed_query = Q(attributes__contains={key: int(text)}) | Q(
                        attributes__contains={key: text}
                    )
                elif text.lower() in ("true", "false"):
                    typed_query = Q(attributes__contains={key: text.lower() == "true"})
                else:
                    typed_query = Q(attributes__contains={key: text})
                typed[key] = typed_query
            for query in typed.values():
                queryset = queryset.filter(query)
        return queryset


class RelationshipFilterSet(django_filters.FilterSet):
    type = django_filters.ModelChoiceFilter(
        queryset=RelationshipType.objects.all(), to_field_name="code", label=_("Type")
    )

    class Meta:
        model = Relationship
        fields = ["source", "target", "type"]
