"""FilterSet of incident lists, shared by the agent queue pages and the API (STYLE.md §3)."""

import django_filters
from django.db.models import BooleanField, F, Func
from django.utils.translation import gettext_lazy as _

from accounts.models import Organisation, SupportGroup, User
from accounts.selectors import user_support_group_ids
from config_items.models import ConfigurationItem

from .choices import Channel, IncidentStatus
from .models import Category, Incident
from .querysets import QUEUE_NAMES, open_q, queue_q


class TitleContains(Func):
    """`title__icontains=value` with the pattern written into the SQL as a literal, and for
    two characters also `itsm_bigrams(UPPER(title)) @> ARRAY[value]`.

    Statements are prepared server-side (ITSM_DB_PREPARE_THRESHOLD): with the pattern as a
    parameter, PostgreSQL soon switches to a generic plan that cannot know how common the
    term is, e.g. a backward scan of 1M rows for a term that matches none, or a bitmap of
    every match for a common one. A literal makes each term its own statement with its
    own plan. Two characters have no trigram (most Chinese words): the bigram index of
    migration 0004 narrows the rows there, strpos keeps the meaning of icontains.
    """

    output_field = BooleanField()

    def __init__(self, value: str):
        super().__init__(F("title"))
        self.value = value

    def as_sql(self, compiler, connection, **extra_context):
        column, params = compiler.compile(self.source_expressions[0])
        pattern = f"%{connection.ops.prep_for_like_query(self.value)}%"
        sql = f"UPPER({column}::text) LIKE UPPER({_literal(pattern)})"
        if len(self.value) == 2:
            # strpos, not LIKE: the planner would also scan the trigram index for the
            # LIKE, and a pattern without trigrams reads all of it (5 s at 1M rows).
            term = f"UPPER({_literal(self.value)})"
            sql = (
                f"itsm_bigrams(UPPER({column}::text)) @> ARRAY[{term}] "
                f"AND strpos(UPPER({column}::text), {term}) > 0"
            )
        return sql, params


def _literal(text: str) -> str:
    """A PostgreSQL string literal (standard_conforming_strings: only ' is special), with
    % doubled for the driver's placeholder syntax."""
    if "\x00" in text:
        raise ValueError("NUL in a search term")
    return "'" + text.replace("'", "''").replace("%", "%%") + "'"


class IncidentFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label=_("Search"))
    # The workspace's tabs pick their queue themselves (incidents.views); the API filters
    # by it here, for the requesting agent.
    queue = django_filters.ChoiceFilter(
        choices=[(name, name) for name in QUEUE_NAMES],
        method="filter_queue",
        label=_("Queue"),
        help_text=_(
            "An agent queue: mine, groups (my groups'), unassigned (in my groups), open, "
            "major or all."
        ),
    )
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
            "queue",
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
        return queryset.filter(TitleContains(value))

    def filter_queue(self, queryset, name, value):
        user = getattr(self.request, "user", None)
        if not value or user is None or not user.is_authenticated:
            return queryset
        condition = queue_q(value, user, user_support_group_ids(user=user))
        return queryset if condition is None else queryset.filter(condition)

    def filter_is_open(self, queryset, name, value):
        if value is None:
            return queryset
        if value:
            return queryset.filter(open_q())
        return queryset.exclude(open_q())
