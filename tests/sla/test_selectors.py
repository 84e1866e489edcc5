"""Attainment, trend, breaches and the monthly report read from rollups and clocks."""

import datetime as dt
from dataclasses import dataclass

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from sla import selectors
from sla.choices import AgreementKind, ClockState, Metric
from sla.models import AttainmentRollup
from sla.tasks import dashboard_cache_warm_task
from tests.config_items.conftest import cmdb_defaults_create
from tests.factories import OrganisationFactory, SupportGroupFactory
from tests.incidents.factories import IncidentFactory
from tests.sla.factories import AgreementFactory, ClockFactory, ServiceFactory, TargetFactory

JAN, FEB, MAR = dt.date(2026, 1, 1), dt.date(2026, 2, 1), dt.date(2026, 3, 1)
PERIOD = {"date_from": JAN, "date_to": dt.date(2026, 3, 31)}


def at(day: str) -> dt.datetime:
    return dt.datetime.fromisoformat(day).replace(tzinfo=dt.UTC)


@dataclass
class Desk:
    acme: object
    bluebird: object
    shop: object
    mail: object
    desk: object
    network: object
    resolution: object
    response: object
    ola: object


def rollup(month, target, *, service, organisation, group, priority, met, breached):
    return AttainmentRollup.objects.create(
        month=month,
        target=target,
        kind=target.agreement.kind,
        metric=target.metric,
        record_type="incidents.incident",
        service_id=service.pk if service else None,
        organisation_id=organisation.pk if organisation else None,
        support_group_id=group.pk if group else None,
        priority=priority,
        met=met,
        breached=breached,
        elapsed_total=dt.timedelta(hours=met + breached),
    )


def desk_create() -> Desk:
    """Two customers, two services, two groups, three targets and six rollup rows (one
    before the period). Expected figures are worked out in the tests."""
    cmdb_defaults_create()  # the service class (a live-server test may have flushed it)
    acme = OrganisationFactory(name="Acme Trading", code="acme")
    bluebird = OrganisationFactory(name="Bluebird Logistics", code="bluebird")
    shop = ServiceFactory(name="Online shop")
    mail = ServiceFactory(name="E-mail")
    desk = SupportGroupFactory(name="Service desk")
    network = SupportGroupFactory(name="Network")
    gold = AgreementFactory(name="Gold support", organisations=[acme])
    resolution = TargetFactory(agreement=gold, name="Resolve P1-P3", metric=Metric.RESOLUTION)
    response = TargetFactory(agreement=gold, name="Respond", metric=Metric.RESPONSE)
    ola = TargetFactory(
        agreement=AgreementFactory(name="Network OLA", kind=AgreementKind.OLA),
        name="Network fixes",
    )
    d = Desk(acme, bluebird, shop, mail, desk, network, resolution, response, ola)
    rollup(
        JAN, resolution, service=shop, organisation=acme, group=desk, priority=1, met=8, breached=2
    )
    rollup(
        FEB, resolution, service=shop, organisation=acme, group=desk, priority=2, met=5, breached=0
    )
    rollup(
        FEB,
        response,
        service=mail,
        organisation=bluebird,
        group=network,
        priority=3,
        met=1,
        breached=2,
    )
    rollup(MAR, ola, service=mail, organisation=None, group=network, priority=3, met=3, breached=0)
    rollup(
        MAR,
        resolution,
        service=None,
        organisation=acme,
        group=None,
        priority=None,
        met=0,
        breached=1,
    )
    rollup(
        dt.date(2025, 12, 1),
        resolution,
        service=shop,
        organisation=acme,
        group=desk,
        priority=1,
        met=100,
        breached=100,
    )
    return d


@pytest.fixture
def desk(db):
    cache.clear()
    return desk_create()


def figures(rows):
    return [
        (row["key"], row["label"], row["met"], row["breached"], row["total"], row["percent"])
        for row in rows
    ]


def test_percent_has_one_decimal_rounded_half_up():
    assert selectors.percent_of(2, 3) == 66.7
    assert selectors.percent_of(1, 16) == 6.3
    assert selectors.percent_of(13, 16) == 81.3
    assert selectors.percent_of(1, 8) == 12.5
    assert selectors.percent_of(5, 5) == 100.0
    assert selectors.percent_of(0, 1) == 0.0
    assert selectors.percent_of(0, 0) is None


def test_attainment_by_service(desk):
    rows = selectors.attainment(group_by="service", **PERIOD)

    assert figures(rows) == [
        (desk.mail.pk, "E-mail", 4, 2, 6, 66.7),
        (desk.shop.pk, "Online shop", 13, 2, 15, 86.7),
        (None, "No service", 0, 1, 1, 0.0),
    ]


def test_attainment_by_organisation_rounds_half_up(desk):
    rows = selectors.attainment(group_by="organisation", **PERIOD)

    assert figures(rows) == [
        (desk.acme.pk, "Acme Trading", 13, 3, 16, 81.3),
        (desk.bluebird.pk, "Bluebird Logistics", 1, 2, 3, 33.3),
        (None, "No organisation", 3, 0, 3, 100.0),
    ]


def test_attainment_by_priority_in_priority_order(desk):
    rows = selectors.attainment(group_by="priority", **PERIOD)

    assert figures(rows) == [
        (1, "1 - Critical", 8, 2, 10, 80.0),
        (2, "2 - High", 5, 0, 5, 100.0),
        (3, "3 - Moderate", 4, 2, 6, 66.7),
        (None, "No priority", 0, 1, 1, 0.0),
    ]


def test_attainment_by_group(desk):
    rows = selectors.attainment(group_by="group", **PERIOD)

    assert figures(rows) == [
        (desk.network.pk, "Network", 4, 2, 6, 66.7),
        (desk.desk.pk, "Service desk", 13, 2, 15, 86.7),
        (None, "No group", 0, 1, 1, 0.0),
    ]


def test_attainment_by_month_leaves_out_months_outside_the_period(desk):
    rows = selectors.attainment(group_by="month", **PERIOD)

    assert figures(rows) == [
        ("2026-01", "January 2026", 8, 2, 10, 80.0),
        ("2026-02", "February 2026", 6, 2, 8, 75.0),
        ("2026-03", "March 2026", 3, 1, 4, 75.0),
    ]


def test_attainment_by_target(desk):
    rows = selectors.attainment(group_by="target", date_from=FEB, date_to=FEB)

    assert figures(rows) == [
        (desk.resolution.pk, "Gold support: Resolve P1-P3", 5, 0, 5, 100.0),
        (desk.response.pk, "Gold support: Respond", 1, 2, 3, 33.3),
    ]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"kind": AgreementKind.OLA}, [("E-mail", 3, 0)]),
        ({"metric": Metric.RESPONSE}, [("E-mail", 1, 2)]),
        ({"priority": 1}, [("Online shop", 8, 2)]),
        ({"date_from": FEB, "date_to": FEB}, [("E-mail", 1, 2), ("Online shop", 5, 0)]),
    ],
)
def test_attainment_filters(desk, filters, expected):
    rows = selectors.attainment(group_by="service", **{**PERIOD, **filters})

    assert [(row["label"], row["met"], row["breached"]) for row in rows] == expected


def test_attainment_filters_by_ids(desk):
    by_org = selectors.attainment(group_by="service", organisation=desk.acme.pk, **PERIOD)
    by_service = selectors.attainment(group_by="organisation", service=desk.mail.pk, **PERIOD)
    by_group = selectors.attainment(group_by="priority", support_group=desk.desk.pk, **PERIOD)

    assert [(r["label"], r["met"], r["breached"]) for r in by_org] == [
        ("Online shop", 13, 2),
        ("No service", 0, 1),
    ]
    assert [(r["label"], r["met"], r["breached"]) for r in by_service] == [
        ("Bluebird Logistics", 1, 2),
        ("No organisation", 3, 0),
    ]
    assert [(r["key"], r["total"]) for r in by_group] == [(1, 10), (2, 5)]


def test_attainment_labels_take_one_query_per_dimension(desk, django_assert_num_queries):
    with django_assert_num_queries(2):
        selectors.attainment(group_by="service", **PERIOD)
    with django_assert_num_queries(1):
        selectors.attainment(group_by="priority", **PERIOD)


def test_trend_has_every_month_of_the_period(desk):
    rows = selectors.attainment_trend(date_from=dt.date(2025, 11, 1), date_to=FEB)

    assert figures(rows) == [
        ("2025-11", "November 2025", 0, 0, 0, None),
        ("2025-12", "December 2025", 100, 100, 200, 50.0),
        ("2026-01", "January 2026", 8, 2, 10, 80.0),
        ("2026-02", "February 2026", 6, 2, 8, 75.0),
    ]


def test_dashboard_is_cached_for_a_minute(desk, django_assert_num_queries):
    key = selectors.dashboard_cache_key(**PERIOD)

    first = selectors.attainment_dashboard(**PERIOD)
    with django_assert_num_queries(0):
        second = selectors.attainment_dashboard(**PERIOD)

    assert second == first
    assert cache.get(key) == first
    ttl = cache._cache.get_client(key).ttl(cache.make_and_validate_key(key))
    assert 55 <= ttl <= 60
    assert first["totals"]["met"] == 17 and first["totals"]["breached"] == 5
    assert first["totals"]["percent"] == 77.3
    assert [row["key"] for row in first["tables"]["month"]] == ["2026-01", "2026-02", "2026-03"]
    assert figures(first["tables"]["organisation"])[0] == (
        desk.acme.pk,
        "Acme Trading",
        13,
        3,
        16,
        81.3,
    )


@pytest.mark.parametrize(
    "filters", [{}, {"organisation": "acme"}, {"metric": Metric.RESPONSE}, {"priority": 3}]
)
def test_dashboard_tables_in_one_query_equal_attainment_per_dimension(
    desk, filters, django_assert_num_queries
):
    if "organisation" in filters:
        filters = {"organisation": desk.acme.pk}

    with django_assert_num_queries(1):
        sums = selectors._dashboard_grouping_sums(**PERIOD, **filters)

    for group_by in selectors.DASHBOARD_GROUP_BYS:
        assert selectors._attainment_rows(group_by, sums[group_by]) == selectors.attainment(
            group_by=group_by, **PERIOD, **filters
        )
    assert sorted(sums["priority"], key=str) == sorted(
        selectors._attainment_sums("priority", **PERIOD, **filters), key=str
    )


def test_dashboard_cache_key_depends_on_every_filter():
    base = selectors.dashboard_cache_key(**PERIOD)

    assert selectors.dashboard_cache_key(**PERIOD) == base
    assert selectors.dashboard_cache_key(**PERIOD, organisation=1) != base
    assert selectors.dashboard_cache_key(**PERIOD, priority=1) != base
    assert selectors.dashboard_cache_key(date_from=FEB, date_to=PERIOD["date_to"]) != base


def test_dashboard_default_filters_are_the_last_twelve_months():
    assert selectors.dashboard_default_filters(today=dt.date(2026, 3, 15)) == {
        "date_from": dt.date(2025, 4, 1),
        "date_to": MAR,
        "kind": None,
        "metric": None,
        "service": None,
        "organisation": None,
        "priority": None,
        "support_group": None,
    }
    assert selectors.dashboard_default_filters(today=dt.date(2026, 12, 31))["date_from"] == JAN


def test_dashboard_cache_warm_aggregates_once_and_caches_every_language(
    desk, django_assert_num_queries
):
    today = dt.date(2026, 3, 15)
    filters = selectors.dashboard_default_filters(today=today)

    # One aggregation (grouping sets) and the breach ids once; service, organisation and
    # group names once per language (English, Simplified Chinese).
    with django_assert_num_queries(2 + 3 * 2):
        assert selectors.dashboard_cache_warm(today=today) == 2

    stored = {}
    for code in ("en", "zh-hans"):
        with translation.override(code):
            key = selectors.dashboard_cache_key(**filters)
            stored[code] = cache.get(key)
            ttl = cache._cache.get_client(key).ttl(cache.make_and_validate_key(key))
            assert 55 <= ttl <= 60
            cache.delete(key)
            assert selectors.attainment_dashboard(**filters) == stored[code]
    assert stored["en"]["totals"] == {
        "key": None,
        "label": "Total",
        "met": 117,
        "breached": 105,
        "total": 222,
        "percent": 52.7,
    }
    assert [row["label"] for row in stored["en"]["trend"]][-2:] == ["February 2026", "March 2026"]
    assert len(stored["zh-hans"]["trend"]) == 12
    assert stored["zh-hans"]["trend"][-1]["label"] != "March 2026"
    assert stored["zh-hans"]["trend"][-1]["met"] == 3


def test_beat_refreshes_the_default_dashboard_before_its_entry_expires(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["sla-dashboard-cache-warm"]

    assert entry["task"] == dashboard_cache_warm_task.name == "sla.tasks.dashboard_cache_warm_task"
    assert entry["schedule"] == selectors.DASHBOARD_WARM_SECONDS == 50
    assert selectors.DASHBOARD_WARM_SECONDS < selectors.DASHBOARD_CACHE_SECONDS


def test_the_app_connections_compile_no_jit(db):
    # JIT compilation cost 0.5 s on the breach list over 2M clocks.
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone() == ("off",)


# ---------------------------------------------------------------- breaches


def clock(desk, *, state, stopped_at=None, breached_at=None, organisation=None, target=None):
    incident = IncidentFactory()
    return ClockFactory(
        record=incident,
        target=target or desk.resolution,
        state=state,
        started_at=at("2025-11-01T08:00"),
        stopped_at=stopped_at,
        breached_at=breached_at,
        organisation=organisation or desk.acme,
        service=desk.shop,
        support_group=desk.desk,
        priority=2,
    )


@pytest.fixture
def breaches(desk):
    return {
        "stopped_feb": clock(
            desk,
            state=ClockState.BREACHED,
            stopped_at=at("2026-02-10T12:00"),
            breached_at=at("2026-02-09T12:00"),
        ),
        "live_mar": clock(desk, state=ClockState.RUNNING, breached_at=at("2026-03-05T09:00")),
        "stopped_mar_bluebird": clock(
            desk,
            state=ClockState.BREACHED,
            stopped_at=at("2026-03-02T10:00"),
            breached_at=at("2026-03-01T10:00"),
            organisation=desk.bluebird,
            target=desk.response,
        ),
        "running": clock(desk, state=ClockState.RUNNING),
        "met": clock(desk, state=ClockState.MET, stopped_at=at("2026-02-11T10:00")),
        "stopped_dec": clock(
            desk,
            state=ClockState.BREACHED,
            stopped_at=at("2025-12-20T10:00"),
            breached_at=at("2025-12-19T10:00"),
        ),
        "live_before": clock(desk, state=ClockState.PAUSED, breached_at=at("2025-12-30T10:00")),
    }


def test_breach_list_has_breached_and_overdue_clocks_of_the_period(breaches):
    clocks = list(selectors.breach_list(**PERIOD))

    assert clocks == [
        breaches["live_mar"],
        breaches["stopped_mar_bluebird"],
        breaches["stopped_feb"],
    ]


def test_breach_list_filters(desk, breaches):
    by_org = selectors.breach_list(organisation=desk.bluebird.pk, **PERIOD)
    by_metric = selectors.breach_list(metric=Metric.RESOLUTION, **PERIOD)
    by_month = selectors.breach_list(date_from=FEB, date_to=FEB)
    by_priority = selectors.breach_list(priority=1, **PERIOD)

    assert list(by_org) == [breaches["stopped_mar_bluebird"]]
    assert list(by_metric) == [breaches["live_mar"], breaches["stopped_feb"]]
    assert list(by_month) == [breaches["stopped_feb"]]
    assert list(by_priority) == []


def test_breach_list_is_by_the_moment_of_the_breach_latest_first(desk):
    stopped_in_march = clock(
        desk,
        state=ClockState.BREACHED,
        stopped_at=at("2026-03-03T09:00"),
        breached_at=at("2026-02-27T09:00"),
    )
    running = clock(desk, state=ClockState.RUNNING, breached_at=at("2026-02-28T09:00"))
    paused_same_moment = clock(desk, state=ClockState.PAUSED, breached_at=at("2026-02-28T09:00"))
    early = clock(
        desk,
        state=ClockState.BREACHED,
        stopped_at=at("2026-02-03T09:00"),
        breached_at=at("2026-02-02T09:00"),
    )
    clock(
        desk,
        state=ClockState.CANCELLED,
        stopped_at=at("2026-02-20T09:00"),
        breached_at=at("2026-02-19T09:00"),
    )

    february = selectors.breach_list(date_from=FEB, date_to=FEB)

    # Ties by newest clock first; cancelled clocks are no breach; a clock counts in the
    # month it breached, not the one it stopped in.
    assert list(february) == [paused_same_moment, running, stopped_in_march, early]
    assert [clock.breach_moment for clock in february] == [
        at("2026-02-28T09:00"),
        at("2026-02-28T09:00"),
        at("2026-02-27T09:00"),
        at("2026-02-02T09:00"),
    ]
    assert list(selectors.breach_list(date_from=MAR, date_to=MAR)) == []
    # The bare column, so the partial index on breached_at reads only the rows shown.
    sql = str(february.query)
    assert 'ORDER BY "sla_clock"."breached_at" DESC, "sla_clock"."id" DESC' in sql
    assert '"sla_clock"."breached_at" >= ' in sql
    assert "COALESCE" not in sql.upper()


def test_breaches_by_ids_keeps_the_order_of_the_ids(breaches, django_assert_num_queries):
    ids = [breaches["stopped_feb"].pk, breaches["live_mar"].pk]

    with django_assert_num_queries(2):  # the clocks, then their incidents
        clocks = selectors.breaches_by_ids(ids)

    assert [clock.pk for clock in clocks] == ids
    assert clocks[0].breach_moment == at("2026-02-09T12:00")


def test_breach_records_are_attached_in_one_query_per_type(breaches, django_assert_num_queries):
    clocks = list(selectors.breach_list(**PERIOD))

    with CaptureQueriesContext(connection) as queries:
        attached = selectors.breach_records_attach(clocks)

    assert len([q for q in queries.captured_queries if "incidents_incident" in q["sql"]]) == 1
    assert len(queries.captured_queries) <= 2  # the content type may be read once
    assert [c.record_url for c in attached] == [f"/incidents/{c.object_id}/" for c in clocks]
    assert [c.record.number for c in attached] == [c.record.number for c in clocks]
    assert all(c.record.number.startswith("INC") for c in attached)


# ---------------------------------------------------------------- monthly report


def test_service_level_report_of_an_organisation(desk, breaches):
    desk.resolution.agreement.services.set([desk.shop])

    report = selectors.service_level_report(organisation=desk.acme, month=dt.date(2026, 2, 14))

    assert report["month"] == FEB
    assert report["month_label"] == "February 2026"
    assert [
        (row["target"].name, row["met"], row["breached"], row["total"], row["percent"])
        for row in report["targets"]
    ] == [
        ("Resolve P1-P3", 5, 0, 5, 100.0),
        ("Respond", 0, 0, 0, None),
    ]
    assert report["totals"]["total"] == 5
    assert report["breaches"] == [breaches["stopped_feb"]]
    assert report["breaches"][0].record_url == f"/incidents/{breaches['stopped_feb'].object_id}/"
    assert [item["service"].name for item in report["availability"]] == ["Online shop"]
    assert report["availability_known"] is True
    figures = report["availability"][0]["figures"]
    assert figures["downtime"] == dt.timedelta(0)
    assert figures["agreed_time"] == dt.timedelta(days=28)


def test_report_lists_measured_targets_but_only_agreements_of_the_organisation(desk):
    report = selectors.service_level_report(organisation=desk.bluebird, month=FEB)

    # Gold support is agreed with Acme only and the OLA is no customer agreement; what
    # was measured for Bluebird's records is still reported.
    assert report["agreements"] == []
    assert [(row["target"].name, row["met"], row["breached"]) for row in report["targets"]] == [
        ("Respond", 1, 2)
    ]
    assert report["availability"] == []
