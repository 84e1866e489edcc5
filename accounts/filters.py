"""FilterSets for accounts records, shared by the API and any list page."""

import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .choices import Role
from .models import ApiToken, Organisation, SupportGroup, User


class OrganisationFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label=_("Search"))

    class Meta:
        model = Organisation
        fields = ["is_active", "code"]

    def filter_q(self, queryset, name, value):
        return queryset.filter(Q(name__icontains=value) | Q(code__icontains=value))


class SupportGroupFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(field_name="name", lookup_expr="icontains", label=_("Search"))
    member = django_filters.NumberFilter(field_name="members", label=_("Member"))

    class Meta:
        model = SupportGroup
        fields = ["is_active", "manager"]


class UserFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label=_("Search"))
    role = django_filters.ChoiceFilter(
        field_name="groups__name", choices=Role.choices, label=_("Role")
    )
    support_group = django_filters.NumberFilter(
        field_name="support_groups", label=_("Support group")
    )

    class Meta:
        model = User
        fields = ["is_active", "organisation"]

    def filter_q(self, queryset, name, value):
        return queryset.filter(
            Q(username__icontains=value)
            | Q(email__icontains=value)
            | Q(first_name__icontains=value)
            | Q(last_name__icontains=value)
        )


class ApiTokenFilterSet(django_filters.FilterSet):
    is_revoked = django_filters.BooleanFilter(
        field_name="revoked_at", lookup_expr="isnull", exclude=True, label=_("Revoked")
    )

    class Meta:
        model = ApiToken
        fields = ["user"]
