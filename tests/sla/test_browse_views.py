"""The read-only agreement and business calendar pages of the agent workspace."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from incidents.models import Category
from sla.choices import (
    AgreementKind,
    AgreementStatus,
    CalendarDayKind,
    EscalationActionKind,
    Metric,
    PauseReason,
    Weekday,
)
from sla.views import _business_duration_text, _hours_summary
from tests.config_items.conftest import cmdb_defaults_create
from tests.factories import OrganisationFactory, SupportGroupFactory, UserFactory
from tests.sla.factories import (
    AgreementFactory,
    BusinessCalendarFactory,
    CalendarDayFactory,
    EscalationActionFactory,
    ServiceFactory,
    TargetFactory,
    WorkingIntervalFactory,
    office_hours_calendar,
)

H = dt.timedelta(hours=1)


@pytest.fixture(autouse=True)
def cmdb_defaults(db):
    """The standard CI classes services need (live-server tests flush them)."""
    cmdb_defaults_create()


@pytest.fixture
def standard(db):
    """An SLA for every customer with a P3 resolution target on office hours, a P1
    response target on 24x7 and an availability target for the online shop."""
    office = office_hours_calendar(name="Berlin office")
    always = BusinessCalendarFactory(name="Always")
    shop = ServiceFactory(name="Online shop")
    agreement = AgreementFactory(
        name="Standard support",
        reference="SLA-STD-1",
        description="Every customer's service levels.",
        valid_from=dt.date(2025, 1, 1),
        valid_to=dt.date(2099, 12, 31),
    )
    resolution = TargetFactory(
        agreement=agreement,
        name="P3 resolution",
        record_type="incidents.incident",
        priorities=[3],
        duration=27 * H,
        calendar=office,
        pause_on=[PauseReason.CUSTOMER, PauseReason.VENDOR],
        thresholds=[50, 75],
        categories=[Category.objects.order_by("pk").first()],
    )
    EscalationActionFactory(
        target=resolution, at_percent=75, action=EscalationActionKind.NOTIFY_ASSIGNEE
    )
    EscalationActionFactory(
        target=resolution, at_percent=100, action=EscalationActionKind.RAISE_PRIORITY, priority=2
    )
    TargetFactory(
        agreement=agreement,
        name="P1 response",
        metric=Metric.RESPONSE,
        priorities=[1],
        duration=dt.timedelta(minutes=90),
        calendar=always,
        thresholds=[],
    )
    TargetFactory(
        agreement=agreement,
        name="Shop availability",
        metric=Metric.AVAILABILITY,
        duration=None,
        calendar=None,
        availability_percent=Decimal("99.9000"),
        services=[shop],
    )
    return agreement


def _agreement_rows(response) -> dict[str, list[str]]:
    return {
        group["kind"]: [agreement.name for agreement in group["agreements"]]
        for group in response.context["groups"]
    }


# ---------------------------------------------------------------- agreement list


def test_agreement_list_groups_agreements_by_kind_with_coverage_and_target_count(
    client, agent, standard
):
    acme = OrganisationFactory(name="Acme Trading", code="acme")
    AgreementFactory(name="Acme gold", organisations=[acme])
    ola = AgreementFactory(
        kind=AgreementKind.OLA,
        name="Desk handling",
        support_groups=[SupportGroupFactory(name="Service Desk")],
    )
    TargetFactory(agreement=ola)
    TargetFactory(agreement=ola, is_active=False)
    AgreementFactory(kind=AgreementKind.UC, name="WAN carrier", supplier="Northwind Telecom")
    client.force_login(agent)

    response = client.get(reverse("sla:agreement_list"))

    assert response.status_code == 200
    assert _agreement_rows(response) == {
        "sla": ["Acme gold", "Standard support"],
        "ola": ["Desk handling"],
        "uc": ["WAN carrier"],
    }
    counts = {a.name: a.target_count for g in response.context["groups"] for a in g["agreements"]}
    assert counts == {"Acme gold": 0, "Standard support": 3, "Desk handling": 1, "WAN carrier": 0}
    content = response.content.decode()
    assert "Acme Trading" in content
    assert "Service Desk" in content
    assert "Northwind Telecom" in content
    assert reverse("sla:agreement_detail", args=[standard.pk]) in content


def test_agreement_list_filters_by_kind_status_and_searches_name_or_reference(
    client, agent, standard
):
    AgreementFactory(kind=AgreementKind.OLA, name="Desk handling", reference="OLA-7")
    AgreementFactory(name="Old gold", status=AgreementStatus.EXPIRED)
    client.force_login(agent)
    url = reverse("sla:agreement_list")

    by_kind = client.get(url, {"kind": "ola"})
    by_status = client.get(url, {"status": "expired"})
    by_reference = client.get(url, {"q": "sla-std"})
    by_name = client.get(url, {"q": "GOLD"})
    nothing = client.get(url, {"q": "no such agreement"})
    invalid = client.get(url, {"kind": "bogus"})

    assert _agreement_rows(by_kind) == {"ola": ["Desk handling"]}
    assert _agreement_rows(by_status) == {"sla": ["Old gold"]}
    assert _agreement_rows(by_reference) == {"sla": ["Standard support"]}
    assert _agreement_rows(by_name) == {"sla": ["Old gold"]}
    assert _agreement_rows(nothing) == {}
    assert "No agreements match" in nothing.content.decode()
    assert _agreement_rows(invalid) == {
        "sla": ["Old gold", "Standard support"],
        "ola": ["Desk handling"],
    }


def test_agreement_list_queries_do_not_grow_with_agreements(
    client, agent, django_assert_max_num_queries
):
    services = [ServiceFactory() for _ in range(3)]
    orgs = [OrganisationFactory() for _ in range(3)]
    for _n in range(30):
        agreement = AgreementFactory(services=services, organisations=orgs)
        TargetFactory(agreement=agreement)
    client.force_login(agent)
    client.get(reverse("sla:agreement_list"))  # warm the session and permission caches

    with django_assert_max_num_queries(12):
        response = client.get(reverse("sla:agreement_list"))

    assert len(response.context["groups"][0]["agreements"]) == 30


def test_navigation_lights_up_slas_entry(client, agent):
    client.force_login(agent)

    response = client.get(reverse("core:home"))

    items = {item["key"]: item for s in response.context["nav_sections"] for item in s["items"]}
    assert items["slas"]["url"] == reverse("sla:agreement_list")
    content = response.content.decode()
    assert f'href="{reverse("sla:agreement_list")}" data-nav="slas"' in content


# ---------------------------------------------------------------- agreement detail


def test_agreement_detail_shows_targets_conditions_calendar_and_escalation(client, agent, standard):
    client.force_login(agent)

    response = client.get(reverse("sla:agreement_detail", args=[standard.pk]))

    assert response.status_code == 200
    context = response.context
    assert [t.name for t in context["time_targets"]] == ["P1 response", "P3 resolution"]
    assert [t.name for t in context["availability_targets"]] == ["Shop availability"]
    response_target, resolution = context["time_targets"]
    assert resolution.duration_text == "27 h"
    assert response_target.duration_text == "1 h 30 min"
    category = Category.objects.order_by("pk").first()
    assert resolution.applies_to == {
        "named": [
            {"label": "Record type", "names": ["Incidents"]},
            {"label": "Priorities", "names": ["3 - Moderate"]},
            {"label": "Categories", "names": [str(category)]},
        ],
        "any": ["Services", "Organisations"],
    }
    assert resolution.pause_labels == ["Awaiting customer", "Awaiting vendor"]
    assert resolution.escalation_steps == [
        {"percent": 50, "is_breach": False, "actions": []},
        {"percent": 75, "is_breach": False, "actions": ["Notify the assignee"]},
        {"percent": 100, "is_breach": True, "actions": ["Raise the priority to 2 - High"]},
    ]
    assert response_target.pause_labels == []
    assert response_target.escalation_steps == [{"percent": 100, "is_breach": True, "actions": []}]
    assert [(row["label"], row.get("links"), row["names"]) for row in context["coverage"]] == [
        ("Services", [], []),
        ("Customers", None, []),
    ]
    content = response.content.decode()
    assert reverse("sla:calendar_detail", args=[resolution.calendar_id]) in content
    assert "SLA-STD-1" in content
    assert "Every customer&#x27;s service levels." in content
    assert "99.9000 %" in content
    assert "the most specific wins" in content
    assert "Services, Organisations:" in content
    assert "Every service" in content
    assert "Every customer" in content


def test_agreement_detail_names_users_groups_and_supplier(client, agent):
    carrier = AgreementFactory(
        kind=AgreementKind.UC, name="WAN carrier", supplier="Northwind Telecom"
    )
    target = TargetFactory(agreement=carrier, thresholds=[90])
    lee = UserFactory(first_name="Ada", last_name="Lee")
    network = SupportGroupFactory(name="Network")
    EscalationActionFactory(
        target=target, at_percent=90, action=EscalationActionKind.NOTIFY_USERS, users=[lee]
    )
    EscalationActionFactory(
        target=target, at_percent=100, action=EscalationActionKind.REASSIGN_GROUP, group=network
    )
    client.force_login(agent)

    response = client.get(reverse("sla:agreement_detail", args=[carrier.pk]))

    assert response.context["time_targets"][0].escalation_steps == [
        {"percent": 90, "is_breach": False, "actions": ["Notify Ada Lee"]},
        {"percent": 100, "is_breach": True, "actions": ["Reassign to Network"]},
    ]
    assert [(row["label"], row["names"]) for row in response.context["coverage"][1:]] == [
        ("Supplier", ["Northwind Telecom"]),
    ]


def test_agreement_detail_queries_do_not_grow_with_targets(
    client, agent, standard, django_assert_max_num_queries
):
    for _n in range(15):
        target = TargetFactory(
            agreement=standard,
            services=[ServiceFactory()],
            organisations=[OrganisationFactory()],
            calendar=BusinessCalendarFactory(),
        )
        EscalationActionFactory(
            target=target, action=EscalationActionKind.NOTIFY_USERS, users=[UserFactory()]
        )
    client.force_login(agent)
    url = reverse("sla:agreement_detail", args=[standard.pk])
    client.get(url)

    with django_assert_max_num_queries(16):
        response = client.get(url)

    assert len(response.context["time_targets"]) == 17


def test_edit_in_admin_is_offered_to_administrators_only(
    client, agent, manager, administrator, standard
):
    url = reverse("sla:agreement_detail", args=[standard.pk])
    admin_url = reverse("admin:sla_agreement_change", args=[standard.pk])
    pages = {}

    for user in (agent, manager, administrator):
        client.force_login(user)
        pages[user.username] = client.get(url).content.decode()

    # Managers may change agreements but have no admin-site access (not is_staff).
    assert admin_url not in pages["agent"]
    assert admin_url not in pages["manager"]
    assert admin_url in pages["admin"]
    target = standard.targets.get(name="P3 resolution")
    assert reverse("admin:sla_target_change", args=[target.pk]) in pages["admin"]
    calendar_admin_url = reverse("admin:sla_businesscalendar_change", args=[target.calendar_id])
    calendar_page = client.get(reverse("sla:calendar_detail", args=[target.calendar_id]))
    assert calendar_admin_url in calendar_page.content.decode()
    client.force_login(manager)
    calendar_page = client.get(reverse("sla:calendar_detail", args=[target.calendar_id]))
    assert calendar_admin_url not in calendar_page.content.decode()


def test_unknown_agreement_is_404(client, agent):
    client.force_login(agent)

    response = client.get(reverse("sla:agreement_detail", args=[999_999]))

    assert response.status_code == 404


# ---------------------------------------------------------------- calendars


def test_business_duration_text_counts_hours_never_days():
    assert _business_duration_text(45 * H) == "45 h"
    assert _business_duration_text(dt.timedelta(minutes=15)) == "15 min"
    # The two largest parts: seconds matter only for short durations.
    assert _business_duration_text(dt.timedelta(hours=2, minutes=5, seconds=3)) == "2 h 5 min"
    assert _business_duration_text(dt.timedelta(minutes=5, seconds=3)) == "5 min 3 s"
    assert _business_duration_text(dt.timedelta(0)) == "0 s"


def test_hours_summary_joins_days_with_equal_hours(db):
    calendar = BusinessCalendarFactory(name="Split", is_24x7=False)
    for weekday in range(5):
        WorkingIntervalFactory(
            calendar=calendar, weekday=weekday, start=dt.time(9), end=dt.time(12)
        )
        WorkingIntervalFactory(
            calendar=calendar, weekday=weekday, start=dt.time(13, 30), end=dt.time(18)
        )
    WorkingIntervalFactory(
        calendar=calendar, weekday=Weekday.SATURDAY, start=dt.time(20), end=dt.time(0)
    )

    assert _hours_summary(calendar) == "Mon–Fri 09:00–12:00, 13:30–18:00; Sat 20:00–24:00"
    assert _hours_summary(BusinessCalendarFactory(name="Always")) == "24 hours, 7 days a week"


def test_calendar_list_shows_hours_and_this_years_days(client, agent):
    year = timezone.localdate().year
    office = office_hours_calendar(name="Berlin office", holiday_country="DE")
    CalendarDayFactory(calendar=office, date=dt.date(year, 1, 1))
    CalendarDayFactory(calendar=office, date=dt.date(year, 12, 25))
    CalendarDayFactory(calendar=office, date=dt.date(year - 1, 12, 25))
    CalendarDayFactory(calendar=office, date=dt.date(year, 2, 7), kind=CalendarDayKind.WORKING_DAY)
    TargetFactory(calendar=office)
    TargetFactory(calendar=office)
    client.force_login(agent)

    response = client.get(reverse("sla:calendar_list"))

    assert response.status_code == 200
    rows = {c.name: c for c in response.context["calendars"]}
    berlin = rows["Berlin office"]
    assert (berlin.holiday_count, berlin.working_day_count, berlin.target_count) == (2, 1, 2)
    assert berlin.hours_runs == ["Mon–Fri 09:00–12:00, 13:00–18:00"]
    assert reverse("sla:calendar_detail", args=[office.pk]) in response.content.decode()


def test_calendar_detail_shows_weekly_hours_and_the_chosen_years_days(client, agent):
    office = office_hours_calendar(name="Shanghai office", holiday_country="CN")
    CalendarDayFactory(
        calendar=office,
        date=dt.date(2026, 2, 17),
        name="Spring Festival",
        source="chinese-calendar",
    )
    CalendarDayFactory(
        calendar=office,
        date=dt.date(2026, 2, 14),
        kind=CalendarDayKind.WORKING_DAY,
        name="Spring Festival",
        hours_of=Weekday.FRIDAY,
        source="chinese-calendar",
    )
    CalendarDayFactory(calendar=office, date=dt.date(2026, 6, 1), name="Team day", source="")
    CalendarDayFactory(calendar=office, date=dt.date(2025, 10, 1), name="National Day")
    target = TargetFactory(calendar=office, agreement__name="Acme gold")
    client.force_login(agent)
    url = reverse("sla:calendar_detail", args=[office.pk])

    response = client.get(url, {"year": "2026"})

    assert response.status_code == 200
    context = response.context
    weekly = {row["label"]: row["intervals"] for row in context["weekly"]}
    assert weekly["Monday"] == ["09:00–12:00", "13:00–18:00"]
    assert weekly["Sunday"] == []
    days = context["days"]
    assert [(d.date, d.kind) for d in days] == [
        (dt.date(2026, 2, 14), CalendarDayKind.WORKING_DAY),
        (dt.date(2026, 2, 17), CalendarDayKind.HOLIDAY),
        (dt.date(2026, 6, 1), CalendarDayKind.HOLIDAY),
    ]
    assert [str(d.source_label) for d in days] == [
        "chinese-calendar package",
        "chinese-calendar package",
        "",
    ]
    assert days[0].hours_text == "09:00–12:00, 13:00–18:00"
    assert (context["holiday_count"], context["working_day_count"]) == (2, 1)
    assert 2025 in context["years"] and 2026 in context["years"]
    content = response.content.decode()
    assert "entered by hand" in content
    assert "as on Friday" in content
    assert reverse("sla:agreement_detail", args=[target.agreement_id]) in content


def test_calendar_detail_defaults_to_this_year_and_ignores_a_bad_year(client, agent):
    this_year = timezone.localdate().year
    calendar = office_hours_calendar(name="Office")
    CalendarDayFactory(calendar=calendar, date=dt.date(this_year, 5, 1), name="Labour Day")
    CalendarDayFactory(calendar=calendar, date=dt.date(2020, 5, 1), name="Old Labour Day")
    client.force_login(agent)
    url = reverse("sla:calendar_detail", args=[calendar.pk])

    default = client.get(url)
    bad = client.get(url, {"year": "next"})
    past = client.get(url, {"year": "2020"})

    assert default.context["year"] == this_year
    assert [d.name for d in default.context["days"]] == ["Labour Day"]
    assert bad.context["year"] == this_year
    assert [d.name for d in past.context["days"]] == ["Old Labour Day"]


def test_calendar_detail_of_an_empty_year_says_so(client, agent):
    calendar = office_hours_calendar(name="Office", holiday_country="DE")
    client.force_login(agent)

    response = client.get(reverse("sla:calendar_detail", args=[calendar.pk]), {"year": "2031"})

    assert response.context["days"] == []
    assert "No holidays in 2031" in response.content.decode()


def test_calendar_pages_query_counts_are_bounded(client, agent, django_assert_max_num_queries):
    calendars = [office_hours_calendar() for _ in range(8)]
    for calendar in calendars:
        CalendarDayFactory(calendar=calendar)
        TargetFactory(calendar=calendar)
    client.force_login(agent)
    client.get(reverse("sla:calendar_list"))

    with django_assert_max_num_queries(10):
        client.get(reverse("sla:calendar_list"))
    with django_assert_max_num_queries(12):
        client.get(reverse("sla:calendar_detail", args=[calendars[0].pk]))
