"""Read side of service level management: attainment, its trend and the breaches, for the
SLA dashboard, the monthly service-level report and the attainment API (ISO/IEC
20000-1:2018 9.1 monitoring and measurement, 8.3.3 service level management).

Attainment reads AttainmentRollup (stopped clocks counted per month and dimension, kept by
the engine), never the clocks themselves, so it costs the same over a thousand or a
million closed records; the dashboard also caches its aggregation for a minute.
"""

import datetime as dt
import hashlib
import json
import zoneinfo
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.db import connection
from django.db.models import Count, F, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from accounts.models import Organisation, SupportGroup
from config_items.models import ConfigurationItem
from core.choices import Priority

from .choices import (
    LIVE_CLOCK_STATES,
    AgreementKind,
    AgreementStatus,
    CalendarDayKind,
    ClockState,
    Metric,
)
from .models import (
    Agreement,
    AttainmentRollup,
    BusinessCalendar,
    CalendarDay,
    Clock,
    EscalationAction,
    Target,
)

# Dimension -> AttainmentRollup column.
GROUP_BY_COLUMNS = {
    "service": "service_id",
    "organisation": "organisation_id",
    "priority": "priority",
    "group": "support_group_id",
    "month": "month",
    "target": "target_id",
}
DASHBOARD_GROUP_BYS = ("service", "organisation", "priority", "group", "month")
# The dimension filters of the dashboard (selector keyword arguments besides the period).
DASHBOARD_FILTERS = ("kind", "metric", "service", "organisation", "priority", "support_group")
DASHBOARD_MONTHS = 12
DASHBOARD_CACHE_SECONDS = 60
# Beat refreshes the default dashboard this often, before its entry expires.
DASHBOARD_WARM_SECONDS = 50
DASHBOARD_CACHE_PREFIX = "sla:dashboard:"
REPORT_BREACHES_SHOWN = 500
DASHBOARD_BREACHES_SHOWN = 20
BREACH_EXPORT_LIMIT = 100_000


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def month_next(day: dt.date) -> dt.date:
    """The first day of the month after `day`'s."""
    return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def months_between(date_from: dt.date, date_to: dt.date) -> list[dt.date]:
    """First days of every month from `date_from`'s to `date_to`'s, inclusive."""
    months, month = [], month_start(date_from)
    while month <= date_to:
        months.append(month)
        month = month_next(month)
    return months


def month_key(month: dt.date) -> str:
    return f"{month:%Y-%m}"


def month_label(month: dt.date) -> str:
    return date_format(month, "YEAR_MONTH_FORMAT")


def percent_of(met: int, total: int) -> float | None:
    """met/total as a percentage with one decimal, rounded half up; None for no records."""
    if not total:
        return None
    value = (Decimal(met) * 100 / Decimal(total)).quantize(Decimal("0.1"), ROUND_HALF_UP)
    return float(value)


def _period_bounds(date_from: dt.date, date_to: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """Start of `date_from`'s month and start of the month after `date_to`'s, in the
    server time zone (the months of the rollups)."""
    zone = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    start = month_start(date_from)
    end = month_next(date_to)
    return (
        dt.datetime(start.year, start.month, 1, tzinfo=zone),
        dt.datetime(end.year, end.month, 1, tzinfo=zone),
    )


def _rollups(
    *,
    date_from: dt.date,
    date_to: dt.date,
    kind: str | None = None,
    metric: str | None = None,
    service: int | None = None,
    organisation: int | None = None,
    priority: int | None = None,
    support_group: int | None = None,
) -> QuerySet[AttainmentRollup]:
    rollups = AttainmentRollup.objects.filter(
        month__gte=month_start(date_from), month__lte=month_start(date_to)
    )
    return _dimensions_filter(
        rollups,
        kind=kind,
        metric=metric,
        service=service,
        organisation=organisation,
        priority=priority,
        support_group=support_group,
    )


def _dimensions_filter(queryset: QuerySet, **values) -> QuerySet:
    """Rollups or clocks narrowed to the dashboard's filters (None or empty: any)."""
    columns = {
        "kind": "kind",
        "metric": "metric",
        "service": "service_id",
        "organisation": "organisation_id",
        "priority": "priority",
        "support_group": "support_group_id",
    }
    for name, value in values.items():
        if value is not None and value != "":
            queryset = queryset.filter(**{columns[name]: value})
    return queryset


def _labels(group_by: str, keys: list) -> dict:
    """Label per key of one dimension, in one query (none for priority and month)."""
    ids = [key for key in keys if key is not None]
    if group_by == "month":
        return {key: month_label(key) for key in ids}
    if group_by == "priority":
        names = dict(Priority.choices)
        return {key: str(names.get(key, key)) for key in ids}
    if not ids:
        return {}
    if group_by == "target":
        return {
            target.pk: str(target)
            for target in Target.objects.filter(pk__in=ids).select_related("agreement")
        }
    model = {
        "service": ConfigurationItem,
        "organisation": Organisation,
        "group": SupportGroup,
    }[group_by]
    return dict(model.objects.filter(pk__in=ids).values_list("pk", "name"))


def _none_label(group_by: str) -> str:
    return {
        "service": _("No service"),
        "organisation": _("No organisation"),
        "priority": _("No priority"),
        "group": _("No group"),
    }.get(group_by, "-")


def _row(key, label: str, met: int, breached: int) -> dict:
    total = met + breached
    return {
        "key": key,
        "label": label,
        "met": met,
        "breached": breached,
        "total": total,
        "percent": percent_of(met, total),
    }


def attainment(
    *,
    date_from: dt.date,
    date_to: dt.date,
    group_by: str,
    kind: str | None = None,
    metric: str | None = None,
    service: int | None = None,
    organisation: int | None = None,
    priority: int | None = None,
    support_group: int | None = None,
) -> list[dict]:
    """Met, breached, total and percent met of the clocks stopped in the months from
    `date_from` to `date_to` (inclusive), per value of `group_by` (service, organisation,
    priority, group, month or target), filtered by the other dimensions.

    Rows: {key, label, met, breached, total, percent}; `key` is the id (priority number,
    "YYYY-MM" for months) or None for records without that dimension; percent has one
    decimal, None when nothing was measured. Months are in chronological order, priorities
    by number, the rest by label; the row without a value comes last.
    """
    sums = _attainment_sums(
        group_by,
        date_from=date_from,
        date_to=date_to,
        kind=kind,
        metric=metric,
        service=service,
        organisation=organisation,
        priority=priority,
        support_group=support_group,
    )
    return _attainment_rows(group_by, sums)


def _attainment_sums(group_by: str, **filters) -> list[tuple]:
    """(key, met, breached) per value of one dimension, from the rollups (one query)."""
    column = GROUP_BY_COLUMNS[group_by]
    grouped = (
        _rollups(**filters)
        .values(column)
        .annotate(met_sum=Sum("met"), breached_sum=Sum("breached"))
        .order_by()
    )
    return [(row[column], row["met_sum"] or 0, row["breached_sum"] or 0) for row in grouped]


def _attainment_rows(group_by: str, sums: list[tuple]) -> list[dict]:
    """Rows of `attainment` from (key, met, breached) sums of one dimension."""
    labels = _labels(group_by, [key for key, _met, _breached in sums])
    rows = []
    for key, met, breached in sums:
        label = _none_label(group_by) if key is None else labels.get(key) or f"#{key}"
        rows.append(_row(month_key(key) if group_by == "month" else key, label, met, breached))
    if group_by in ("month", "priority"):
        rows.sort(key=lambda row: (row["key"] is None, row["key"] or 0))
    else:
        rows.sort(key=lambda row: (row["key"] is None, str(row["label"]).casefold()))
    return rows


def _trend(month_rows: list[dict], date_from: dt.date, date_to: dt.date) -> list[dict]:
    by_month = {row["key"]: row for row in month_rows}
    return [
        by_month.get(month_key(month)) or _row(month_key(month), month_label(month), 0, 0)
        for month in months_between(date_from, date_to)
    ]


def attainment_trend(
    *,
    date_from: dt.date,
    date_to: dt.date,
    kind: str | None = None,
    metric: str | None = None,
    service: int | None = None,
    organisation: int | None = None,
    priority: int | None = None,
    support_group: int | None = None,
) -> list[dict]:
    """Attainment per month for every month of the period, months without stopped clocks
    included (total 0, percent None), so a chart has no gaps in its axis."""
    month_rows = attainment(
        date_from=date_from,
        date_to=date_to,
        group_by="month",
        kind=kind,
        metric=metric,
        service=service,
        organisation=organisation,
        priority=priority,
        support_group=support_group,
    )
    return _trend(month_rows, date_from, date_to)


def attainment_dashboard(**filters) -> dict:
    """The SLA dashboard's figures: attainment per service, organisation, priority, group
    and month, the monthly trend, the totals and the ids of the latest breaches (one more
    than DASHBOARD_BREACHES_SHOWN, to tell whether there are more), for `filters` (those
    of `attainment` without `group_by`).

    Cached for DASHBOARD_CACHE_SECONDS in the shared cache (Redis), keyed by the filter
    values and the language of the labels: managers reloading the dashboard over a
    million closed records then read one cache entry instead of six aggregations. The
    default view (`dashboard_default_filters`) is kept warm by `dashboard_cache_warm`.
    """
    data = cache.get(dashboard_cache_key(**filters))
    if data is not None:
        return data
    return _dashboard_store(_dashboard_sums(**filters), filters)


def _dashboard_sums(**filters) -> dict:
    """The language-independent part of the dashboard: (key, met, breached) per value of
    each dimension and the ids of the latest breaches (one query each)."""
    sums = _dashboard_grouping_sums(**filters)
    breach_ids = list(
        breach_list(**filters).values_list("pk", flat=True)[: DASHBOARD_BREACHES_SHOWN + 1]
    )
    return {"sums": sums, "breach_ids": breach_ids}


def _dashboard_grouping_sums(**filters) -> dict[str, list[tuple]]:
    """(key, met, breached) per value of each dashboard dimension in one pass over the
    rollups (GROUP BY GROUPING SETS, one hash table per dimension). Five separate
    aggregations read the ~600,000 rollup rows of a million stopped clocks five times:
    1.4-1.6 s on 2 cores (each parallel, three processes); one pass took 0.9 s on one."""
    columns = [GROUP_BY_COLUMNS[group_by] for group_by in DASHBOARD_GROUP_BYS]
    rows_sql, params = (
        _rollups(**filters).order_by().values_list(*columns, "met", "breached").query
    ).sql_with_params()
    listed = ", ".join(columns)
    sql = (
        f"SELECT GROUPING({listed}), {listed}, sum(met), sum(breached) "  # noqa: S608
        f"FROM ({rows_sql}) AS rollup "
        f"GROUP BY GROUPING SETS ({', '.join(f'({column})' for column in columns)})"
    )
    # GROUPING(...) has a bit per column, the first one highest, set when the row is not
    # grouped by that column: the row of one dimension has every bit set but its own.
    full = (1 << len(columns)) - 1
    dimension_of = {
        full ^ (1 << (len(columns) - 1 - n)): group_by
        for n, group_by in enumerate(DASHBOARD_GROUP_BYS)
    }
    sums: dict[str, list[tuple]] = {group_by: [] for group_by in DASHBOARD_GROUP_BYS}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for grouping, *keys, met, breached in cursor.fetchall():
            group_by = dimension_of[grouping]
            key = keys[DASHBOARD_GROUP_BYS.index(group_by)]
            sums[group_by].append((key, met or 0, breached or 0))
    return sums


def _dashboard_store(raw: dict, filters: dict) -> dict:
    """The dashboard's figures from `_dashboard_sums`, labelled in the active language,
    stored under the key `attainment_dashboard` reads."""
    tables = {group_by: _attainment_rows(group_by, sums) for group_by, sums in raw["sums"].items()}
    trend = _trend(tables["month"], filters["date_from"], filters["date_to"])
    met = sum(row["met"] for row in trend)
    breached = sum(row["breached"] for row in trend)
    data = {
        "tables": tables,
        "trend": trend,
        "totals": _row(None, _("Total"), met, breached),
        "breach_ids": raw["breach_ids"],
    }
    cache.set(dashboard_cache_key(**filters), data, DASHBOARD_CACHE_SECONDS)
    return data


def dashboard_default_filters(*, today: dt.date | None = None) -> dict:
    """The filters of the dashboard opened without any: the last DASHBOARD_MONTHS months
    up to this one (in the server time zone), no dimension filter."""
    date_to = month_start(today or timezone.localdate())
    index = date_to.year * 12 + date_to.month - 1 - (DASHBOARD_MONTHS - 1)
    return {
        "date_from": dt.date(index // 12, index % 12 + 1, 1),
        "date_to": date_to,
        **dict.fromkeys(DASHBOARD_FILTERS),
    }


def dashboard_cache_warm(*, today: dt.date | None = None) -> int:
    """Computes the default dashboard once and caches it in every configured language
    (beat, every DASHBOARD_WARM_SECONDS < DASHBOARD_CACHE_SECONDS), so no manager opening
    the dashboard waits for the cold aggregation. Returns the number of entries stored."""
    filters = dashboard_default_filters(today=today)
    raw = _dashboard_sums(**filters)
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            _dashboard_store(raw, filters)
    return len(settings.LANGUAGES)


def dashboard_cache_key(**filters) -> str:
    values = {name: str(value) if value is not None else None for name, value in filters.items()}
    values["language"] = get_language()
    digest = hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()[:32]
    return DASHBOARD_CACHE_PREFIX + digest


def breach_list(
    *,
    date_from: dt.date,
    date_to: dt.date,
    kind: str | None = None,
    metric: str | None = None,
    service: int | None = None,
    organisation: int | None = None,
    priority: int | None = None,
    support_group: int | None = None,
) -> QuerySet[Clock]:
    """Breached clocks of the period, latest breach first: every clock that passed its
    deadline in the period (`breached_at`, set by the tick or when a clock stops
    breached), stopped breached or still live; cancelled clocks are left out. Filtering
    and ordering by the bare column lets the partial index on `breached_at` serve "the
    latest N breaches" by reading N index entries. Call `breach_records_attach` on the
    page shown to get each clock's record and link without N+1."""
    start, end = _period_bounds(date_from, date_to)
    clocks = Clock.objects.filter(
        breached_at__gte=start,
        breached_at__lt=end,
        state__in=(ClockState.BREACHED, *LIVE_CLOCK_STATES),
    )
    clocks = _dimensions_filter(
        clocks,
        kind=kind,
        metric=metric,
        service=service,
        organisation=organisation,
        priority=priority,
        support_group=support_group,
    )
    return (
        clocks.select_related("target__agreement", "service", "organisation", "support_group")
        .annotate(breach_moment=F("breached_at"))
        .order_by("-breached_at", "-pk")
    )


def breach_records_attach(clocks) -> list[Clock]:
    """Sets `record` (the ticket, or None if gone) and `record_url` on each clock: one
    query per ticket type, whatever the number of clocks."""
    clocks = list(clocks)
    ids_by_type: dict[int, set[int]] = defaultdict(set)
    for clock in clocks:
        ids_by_type[clock.content_type_id].add(clock.object_id)
    records: dict[tuple[int, int], object] = {}
    for type_id, ids in ids_by_type.items():
        model = ContentType.objects.get_for_id(type_id).model_class()
        if model is None:
            continue
        fields = {field.name for field in model._meta.concrete_fields}
        shown = [name for name in ("number", "title") if name in fields]
        for record in model._default_manager.filter(pk__in=ids).only("pk", *shown):
            records[(type_id, record.pk)] = record
    for clock in clocks:
        record = records.get((clock.content_type_id, clock.object_id))
        clock.record = record
        clock.record_url = record.get_absolute_url() if record is not None else ""
    return clocks


def report_agreements(*, organisation: Organisation, month: dt.date) -> list[Agreement]:
    """Service level agreements with `organisation` (or with every customer) in force
    during `month`, with their services and targets."""
    start, end = month_start(month), month_next(month)
    return list(
        Agreement.objects.filter(
            Q(organisations=organisation) | Q(organisations=None),
            kind=AgreementKind.SLA,
            status__in=(AgreementStatus.ACTIVE, AgreementStatus.EXPIRED),
            valid_from__lt=end,
        )
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=start))
        .distinct()
        .prefetch_related(
            "services",
            Prefetch("targets", queryset=Target.objects.select_related("calendar")),
        )
        .order_by("name", "pk")
    )


def report_services(
    *, organisation: Organisation, agreements: list[Agreement]
) -> list[ConfigurationItem]:
    """The services the agreements cover for `organisation`: those they name, and the
    organisation's own services when an agreement covers every service."""
    services = {
        service.pk: service for agreement in agreements for service in agreement.services.all()
    }
    if any(not agreement.services.all() for agreement in agreements):
        for service in ConfigurationItem.objects.exclude(ci_class__service_kind="").filter(
            organisations=organisation
        ):
            services.setdefault(service.pk, service)
    return sorted(services.values(), key=lambda service: service.name.casefold())


def service_level_report(*, organisation: Organisation, month: dt.date) -> dict:
    """The monthly service-level report of one customer organisation (ISO/IEC
    20000-1:2018 8.3.3 and 9.1): attainment per target against what was agreed, the
    breaches of the month and the measured availability of each covered service.

    Availability comes from `sla.availability.service_availability`; while that module is
    missing the report shows no figures for it (`availability_known` False).
    """
    month = month_start(month)
    agreements = report_agreements(organisation=organisation, month=month)
    measured = {
        row["key"]: row
        for row in attainment(
            date_from=month, date_to=month, group_by="target", organisation=organisation.pk
        )
    }
    targets = {
        target.pk: target
        for target in Target.objects.filter(
            pk__in=[key for key in measured if key is not None]
        ).select_related("agreement", "calendar")
    }
    for agreement in agreements:
        for target in agreement.targets.all():
            if target.is_active and target.metric != Metric.AVAILABILITY:
                targets.setdefault(target.pk, target)
    target_rows = []
    for pk, target in targets.items():
        row = measured.get(pk) or _row(pk, str(target), 0, 0)
        target_rows.append({**row, "target": target, "agreement": target.agreement})
    target_rows.sort(
        key=lambda row: (row["agreement"].name, row["target"].metric, row["target"].name)
    )
    totals = _row(
        None,
        _("Total"),
        sum(row["met"] for row in target_rows),
        sum(row["breached"] for row in target_rows),
    )
    breaches = breach_records_attach(
        breach_list(date_from=month, date_to=month, organisation=organisation.pk)[
            :REPORT_BREACHES_SHOWN
        ]
    )
    start, end = _period_bounds(month, month)
    availability_rows = []
    try:
        from .availability import service_availability
    except ImportError:
        service_availability = None
    for service in report_services(organisation=organisation, agreements=agreements):
        figures = (
            service_availability(service=service, start=start, end=end)
            if service_availability is not None
            else None
        )
        availability_rows.append({"service": service, "figures": figures})
    return {
        "organisation": organisation,
        "month": month,
        "month_label": month_label(month),
        "period_start": start,
        "period_end": end,
        "agreements": agreements,
        "targets": target_rows,
        "totals": totals,
        "breaches": breaches,
        "breaches_shown": REPORT_BREACHES_SHOWN,
        "availability": availability_rows,
        "availability_known": service_availability is not None,
    }


# --- SLA clocks of one record (the bar per clock on a record's page) ---------------------


def clock_level(*, clock: Clock, percent: float, thresholds: list[int]) -> str:
    """The colour of a clock's bar: by state, then by the thresholds it has passed."""
    if clock.state == ClockState.CANCELLED:
        return "cancelled"
    if clock.state == ClockState.BREACHED or clock.breached_at is not None or percent > 100:
        return "breached"
    if clock.state == ClockState.MET:
        return "met"
    if clock.state == ClockState.PAUSED:
        return "paused"
    passed = [t for t in thresholds if percent >= t]
    if not passed:
        return "ok"
    return "critical" if len(passed) == len(thresholds) else "warning"


def record_clocks(*, record, now: dt.datetime | None = None) -> list[dict]:
    """Every SLA clock of a record with its business time used and left, the threshold
    colour, the calendar, why its target applies and its history (for the auditor)."""
    from .calendars import calendar_spec_get
    from .services import clock_elapsed

    now = now or dt.datetime.now(dt.UTC)
    clocks = (
        Clock.objects.filter(
            content_type=ContentType.objects.get_for_model(record), object_id=record.pk
        )
        .select_related("target__agreement", "calendar")
        .prefetch_related("events__actor")
        .order_by("kind", "-metric", "started_at", "pk")
    )
    specs: dict[int, object] = {}
    rows = []
    for clock in clocks:
        if clock.calendar_id not in specs:
            specs[clock.calendar_id] = calendar_spec_get(
                calendar_id=clock.calendar_id, version=clock.calendar.version
            )
        elapsed = clock_elapsed(clock, specs[clock.calendar_id], now)
        duration = clock.target_duration
        percent = elapsed / duration * 100 if duration else 0.0
        rows.append(
            {
                "clock": clock,
                "elapsed": elapsed,
                "remaining": duration - elapsed,
                "overdue": elapsed - duration if elapsed > duration else None,
                "percent": round(percent, 1),
                "bar": min(round(percent), 100),
                "level": clock_level(
                    clock=clock, percent=percent, thresholds=sorted(clock.target.thresholds)
                ),
                "events": list(clock.events.all()),
            }
        )
    return rows


def breaches_by_ids(ids: list[int]) -> list[Clock]:
    """The clocks of `ids` in that order (as `breach_list` gives them), records attached:
    the dashboard caches which breaches it shows and reads them by primary key."""
    by_pk = {
        clock.pk: clock
        for clock in Clock.objects.filter(pk__in=ids)
        .select_related("target__agreement", "service", "organisation", "support_group")
        .annotate(breach_moment=F("breached_at"))
    }
    return breach_records_attach(by_pk[pk] for pk in ids if pk in by_pk)


# Agreements and calendars

AGREEMENT_LIST_LIMIT = 500


def agreement_list(
    *, kind: str | None = None, status: str | None = None, query: str = ""
) -> QuerySet[Agreement]:
    """Agreements for the browse page, by kind and name, with what they cover (prefetched)
    and `target_count`; `query` searches name and reference."""
    agreements = Agreement.objects.annotate(
        target_count=Count("targets", filter=Q(targets__is_active=True))
    ).prefetch_related(
        Prefetch("services", queryset=ConfigurationItem.objects.only("pk", "name")),
        Prefetch("organisations", queryset=Organisation.objects.only("pk", "name")),
        Prefetch("support_groups", queryset=SupportGroup.objects.only("pk", "name")),
    )
    if kind:
        agreements = agreements.filter(kind=kind)
    if status:
        agreements = agreements.filter(status=status)
    query = query.strip()
    if query:
        agreements = agreements.filter(Q(name__icontains=query) | Q(reference__icontains=query))
    return agreements.order_by("kind", "name", "pk")


def agreement_get(*, pk: int) -> Agreement:
    """One agreement with what it covers and every target (calendar, conditions and
    escalation actions prefetched), so its page costs the same for any number of targets."""
    return Agreement.objects.prefetch_related(
        Prefetch("services", queryset=ConfigurationItem.objects.only("pk", "name")),
        Prefetch("organisations", queryset=Organisation.objects.only("pk", "name")),
        Prefetch("support_groups", queryset=SupportGroup.objects.only("pk", "name")),
        Prefetch(
            "targets",
            queryset=Target.objects.select_related("calendar")
            .prefetch_related(
                Prefetch("services", queryset=ConfigurationItem.objects.only("pk", "name")),
                Prefetch("organisations", queryset=Organisation.objects.only("pk", "name")),
                "categories",
                Prefetch(
                    "actions",
                    queryset=EscalationAction.objects.select_related("group").prefetch_related(
                        "users"
                    ),
                ),
            )
            .order_by("-is_active", "metric", "name", "pk"),
        ),
    ).get(pk=pk)


def calendar_list(*, year: int) -> QuerySet[BusinessCalendar]:
    """Business calendars with their working intervals, and per calendar the number of
    holidays and extra working days in `year` and of targets that use it."""

    def day_count(kind: str):
        days = (
            CalendarDay.objects.filter(calendar=OuterRef("pk"), date__year=year, kind=kind)
            .order_by()
            .values("calendar")
            .annotate(n=Count("pk"))
            .values("n")
        )
        return Coalesce(Subquery(days), 0)

    targets = (
        Target.objects.filter(calendar=OuterRef("pk"))
        .order_by()
        .values("calendar")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return (
        BusinessCalendar.objects.annotate(
            holiday_count=day_count(CalendarDayKind.HOLIDAY),
            working_day_count=day_count(CalendarDayKind.WORKING_DAY),
            target_count=Coalesce(Subquery(targets), 0),
        )
        .prefetch_related("intervals")
        .order_by("name", "pk")
    )


def calendar_get(*, pk: int) -> BusinessCalendar:
    """One business calendar with its working intervals."""
    return BusinessCalendar.objects.prefetch_related("intervals").get(pk=pk)


def calendar_days(*, calendar: BusinessCalendar, year: int) -> QuerySet[CalendarDay]:
    """The holidays and extra working days of a calendar in one year, by date."""
    return CalendarDay.objects.filter(calendar=calendar, date__year=year).order_by("date")


def calendar_day_years(*, calendar: BusinessCalendar) -> list[int]:
    """The years in which the calendar has holidays or extra working days."""
    return [day.year for day in calendar.days.dates("date", "year")]


def calendar_targets(*, calendar: BusinessCalendar) -> QuerySet[Target]:
    """The targets that count time in a calendar, with their agreements."""
    return (
        Target.objects.filter(calendar=calendar)
        .select_related("agreement")
        .order_by("agreement__kind", "agreement__name", "name", "pk")
    )
