"""Business calendars in the database (sla.calendars): loading a calendar for the arithmetic,
importing public holidays and China's make-up working days, the default calendars of the
data migration and the sla_import_holidays command."""

import datetime as dt
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from core.exceptions import DomainError
from sla import calendars
from sla.business_time import CalendarSpec, business_add, business_time
from sla.calendars import calendar_changed, calendar_holidays_import, calendar_spec_load
from sla.choices import CalendarDayKind, Weekday
from sla.models import BusinessCalendar, CalendarDay, WorkingInterval
from tests.sla.factories import BusinessCalendarFactory, CalendarDayFactory

pytestmark = pytest.mark.django_db

UTC = dt.UTC
SHANGHAI = dt.timezone(dt.timedelta(hours=8))
MORNING = (dt.time(9), dt.time(12))
AFTERNOON = (dt.time(13, 30), dt.time(18))

# China 2026 as the State Council announced it (every day of each break, and the make-up
# working days 调休), as chinesecalendar lists it.
CN_2026_HOLIDAYS = {dt.date(2026, 1, 1) + dt.timedelta(days=n) for n in range(3)} | {
    start + dt.timedelta(days=n)
    for start, length in [
        (dt.date(2026, 2, 15), 9),
        (dt.date(2026, 4, 4), 3),
        (dt.date(2026, 5, 1), 5),
        (dt.date(2026, 6, 19), 3),
        (dt.date(2026, 9, 25), 3),
        (dt.date(2026, 10, 1), 7),
    ]
    for n in range(length)
}
CN_2026_WORKDAYS = {
    dt.date(2026, 1, 4),
    dt.date(2026, 2, 14),
    dt.date(2026, 2, 28),
    dt.date(2026, 5, 9),
    dt.date(2026, 9, 20),
    dt.date(2026, 10, 10),
}


def china_calendar(name: str = "Shanghai desk") -> BusinessCalendar:
    calendar = BusinessCalendarFactory(
        name=name, is_24x7=False, time_zone="Asia/Shanghai", holiday_country="CN"
    )
    for weekday in range(Weekday.MONDAY, Weekday.SATURDAY):
        for start, end in (MORNING, AFTERNOON):
            WorkingInterval.objects.create(calendar=calendar, weekday=weekday, start=start, end=end)
    return calendar


def imported_days(calendar: BusinessCalendar, year: int) -> set[tuple]:
    return set(
        calendar.days.filter(date__year=year).values_list("date", "kind", "source", "hours_of")
    )


def expected_cn_2026() -> set[tuple]:
    return {(day, CalendarDayKind.HOLIDAY, "chinese-calendar", 0) for day in CN_2026_HOLIDAYS} | {
        (day, CalendarDayKind.WORKING_DAY, "chinese-calendar", 0) for day in CN_2026_WORKDAYS
    }


# --- calendar_spec_load


def test_spec_load_maps_hours_holidays_and_extra_working_days(django_assert_num_queries):
    calendar = BusinessCalendarFactory(is_24x7=False, time_zone="Asia/Shanghai")
    WorkingInterval.objects.create(
        calendar=calendar, weekday=0, start=dt.time(13, 30), end=dt.time(18)
    )
    WorkingInterval.objects.create(calendar=calendar, weekday=0, start=dt.time(9), end=dt.time(12))
    WorkingInterval.objects.create(calendar=calendar, weekday=5, start=dt.time(20), end=dt.time(0))
    CalendarDayFactory(calendar=calendar, date=dt.date(2026, 2, 17), kind=CalendarDayKind.HOLIDAY)
    CalendarDayFactory(
        calendar=calendar,
        date=dt.date(2026, 2, 14),
        kind=CalendarDayKind.WORKING_DAY,
        hours_of=Weekday.MONDAY,
    )
    CalendarDayFactory(
        calendar=calendar,
        date=dt.date(2026, 2, 15),
        kind=CalendarDayKind.WORKING_DAY,
        hours_of=Weekday.TUESDAY,
    )

    with django_assert_num_queries(2):
        spec = calendar_spec_load(calendar)

    assert spec == CalendarSpec(
        time_zone="Asia/Shanghai",
        weekly={0: (MORNING, AFTERNOON), 5: ((dt.time(20), dt.time(0)),)},
        days={
            dt.date(2026, 2, 17): (),
            dt.date(2026, 2, 14): (MORNING, AFTERNOON),
            dt.date(2026, 2, 15): (),
        },
    )


def test_spec_load_of_a_24x7_calendar_needs_no_query(django_assert_num_queries):
    calendar = BusinessCalendarFactory(time_zone="Europe/Berlin")

    with django_assert_num_queries(0):
        spec = calendar_spec_load(calendar)

    assert spec == CalendarSpec(time_zone="Europe/Berlin", is_24x7=True)


# --- the default calendars of the data migration


def test_default_calendars_exist_with_their_hours():
    calendars = {
        c.name: c
        for c in BusinessCalendar.objects.filter(
            name__in=["24x7", "China office hours", "Europe office hours"]
        )
    }

    assert calendar_spec_load(calendars["24x7"]) == CalendarSpec(time_zone="UTC", is_24x7=True)
    china = calendar_spec_load(calendars["China office hours"])
    assert china.time_zone == "Asia/Shanghai"
    assert china.weekly == dict.fromkeys(range(5), (MORNING, AFTERNOON))
    europe = calendar_spec_load(calendars["Europe office hours"])
    assert (europe.time_zone, europe.weekly) == (
        "Europe/Berlin",
        {day: ((dt.time(8), dt.time(17)),) for day in range(5)},
    )
    assert calendars["Europe office hours"].holiday_country == "DE"
    assert europe.days[dt.date(2026, 10, 3)] == ()  # German Unity Day


def test_default_china_calendar_knows_2026():
    calendar = BusinessCalendar.objects.get(name="China office hours")
    spec = calendar_spec_load(calendar)

    assert imported_days(calendar, 2026) == expected_cn_2026()
    saturday_5pm = dt.datetime(2026, 2, 14, 17, tzinfo=SHANGHAI)
    assert business_add(spec, saturday_5pm, dt.timedelta(hours=2)) == dt.datetime(
        2026, 2, 24, 2, tzinfo=UTC
    )
    assert business_time(
        spec, dt.datetime(2026, 2, 17, tzinfo=SHANGHAI), dt.datetime(2026, 2, 18, tzinfo=SHANGHAI)
    ) == dt.timedelta(0)


# --- calendar_holidays_import


def test_import_of_china_2026_brings_holidays_and_make_up_days():
    calendar = china_calendar()

    count = calendar_holidays_import(calendar=calendar, years=[2026])

    assert count == 39
    assert imported_days(calendar, 2026) == expected_cn_2026()
    assert calendar.days.get(date=dt.date(2026, 2, 17)).name == "Spring Festival"
    calendar.refresh_from_db()
    assert calendar.version == 2


def test_import_is_idempotent():
    calendar = china_calendar()
    calendar_holidays_import(calendar=calendar, years=[2026])
    before = list(calendar.days.values_list("pk", "date", "kind", "name", "source"))

    count = calendar_holidays_import(calendar=calendar, years=[2026, 2026])

    assert count == 0
    assert list(calendar.days.values_list("pk", "date", "kind", "name", "source")) == before
    calendar.refresh_from_db()
    assert calendar.version == 2


def test_import_never_overwrites_admin_days():
    calendar = china_calendar()
    rota = CalendarDayFactory(
        calendar=calendar,
        date=dt.date(2026, 2, 17),
        kind=CalendarDayKind.WORKING_DAY,
        name="Support rota",
        hours_of=Weekday.TUESDAY,
        source="",
    )

    count = calendar_holidays_import(calendar=calendar, years=[2026])

    assert count == 38
    assert calendar.days.filter(date=rota.date).values_list(
        "pk", "kind", "name", "source"
    ).get() == (
        rota.pk,
        CalendarDayKind.WORKING_DAY,
        "Support rota",
        "",
    )
    assert calendar_holidays_import(calendar=calendar, years=[2026]) == 0
    assert CalendarDay.objects.filter(pk=rota.pk, source="").exists()


def test_import_corrects_and_removes_imported_days_of_those_years_only():
    calendar = china_calendar()
    wrong = CalendarDayFactory(
        calendar=calendar,
        date=dt.date(2026, 2, 14),
        kind=CalendarDayKind.HOLIDAY,
        source="holidays",
    )
    stale = CalendarDayFactory(calendar=calendar, date=dt.date(2026, 3, 3), source="holidays")
    other_year = CalendarDayFactory(calendar=calendar, date=dt.date(2025, 3, 3), source="holidays")
    admin = CalendarDayFactory(calendar=calendar, date=dt.date(2026, 3, 4), source="")

    count = calendar_holidays_import(calendar=calendar, years=[2026])

    assert count == 38 + 1 + 1  # 38 created, 1 corrected, 1 removed
    wrong.refresh_from_db()
    assert (wrong.kind, wrong.source) == (CalendarDayKind.WORKING_DAY, "chinese-calendar")
    assert not CalendarDay.objects.filter(pk=stale.pk).exists()
    assert CalendarDay.objects.filter(pk__in=[other_year.pk, admin.pk]).count() == 2


def test_import_of_germany_uses_the_holidays_library():
    calendar = BusinessCalendarFactory(name="Berlin desk", is_24x7=False, holiday_country="DE")

    count = calendar_holidays_import(calendar=calendar, years=[2026])

    assert count == 9
    assert set(calendar.days.values_list("date", "kind", "source")) == {
        (day, CalendarDayKind.HOLIDAY, "holidays")
        for day in [
            dt.date(2026, 1, 1),
            dt.date(2026, 4, 3),
            dt.date(2026, 4, 6),
            dt.date(2026, 5, 1),
            dt.date(2026, 5, 14),
            dt.date(2026, 5, 25),
            dt.date(2026, 10, 3),
            dt.date(2026, 12, 25),
            dt.date(2026, 12, 26),
        ]
    }


def test_import_of_a_subdivision_adds_its_own_holidays():
    calendar = BusinessCalendarFactory(name="Munich desk", is_24x7=False, holiday_country="de-by")

    calendar_holidays_import(calendar=calendar, years=[2026])

    assert calendar.days.filter(date=dt.date(2026, 1, 6)).exists()  # Epiphany in Bavaria


def test_china_year_unknown_to_chinese_calendar_falls_back_to_statutory_holidays():
    calendar = china_calendar()

    calendar_holidays_import(calendar=calendar, years=[2030])

    assert set(calendar.days.values_list("source", flat=True)) == {"holidays"}
    assert calendar.days.filter(date=dt.date(2030, 1, 1), kind=CalendarDayKind.HOLIDAY).exists()
    assert calendar.days.filter(date=dt.date(2030, 10, 1), kind=CalendarDayKind.HOLIDAY).exists()


def test_import_refuses_unknown_or_missing_countries():
    unknown = BusinessCalendarFactory(name="Atlantis", is_24x7=False, holiday_country="XX")
    none = BusinessCalendarFactory(name="Nowhere", is_24x7=False)

    with pytest.raises(DomainError) as unknown_error:
        calendar_holidays_import(calendar=unknown, years=[2026])
    with pytest.raises(DomainError) as none_error:
        calendar_holidays_import(calendar=none, years=[2026])

    assert unknown_error.value.code == "unknown_holiday_country"
    assert none_error.value.code == "no_holiday_country"
    assert not CalendarDay.objects.filter(calendar__in=[unknown, none]).exists()


# --- calendar_changed


def test_calendar_changed_bumps_the_version_and_recomputes_clocks_after_commit(
    django_capture_on_commit_callbacks,
):
    calendar = china_calendar()

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        calendar_changed(calendar=calendar)

    assert calendar.version == 2
    assert BusinessCalendar.objects.get(pk=calendar.pk).version == 2
    assert len(callbacks) == 1
    assert callbacks[0].func is calendars._clocks_recompute_enqueue
    assert callbacks[0].args == (calendar.pk,)


def test_recompute_callback_enqueues_the_task(monkeypatch, django_capture_on_commit_callbacks):
    tasks = pytest.importorskip("sla.tasks")
    calendar = china_calendar()
    sent = []
    monkeypatch.setattr(tasks.clocks_recompute_task, "delay", lambda **kw: sent.append(kw))

    with django_capture_on_commit_callbacks(execute=True):
        calendar_changed(calendar=calendar)

    assert sent == [{"calendar_id": calendar.pk}]


# --- the command


def test_command_imports_every_calendar_with_a_country():
    calendar = china_calendar()
    out = StringIO()

    call_command("sla_import_holidays", "--years", "2026", stdout=out)

    # The migration imported the default calendars already: nothing changes there.
    assert out.getvalue().splitlines() == [
        "China office hours (CN, 2026): 0 days changed",
        "Europe office hours (DE, 2026): 0 days changed",
        "Shanghai desk (CN, 2026): 39 days changed",
    ]
    assert imported_days(calendar, 2026) == expected_cn_2026()


def test_command_imports_one_calendar_by_name():
    calendar = china_calendar()
    other = china_calendar(name="Beijing desk")
    out = StringIO()

    call_command(
        "sla_import_holidays", "--years", "2026", "--calendar", "Shanghai desk", stdout=out
    )

    assert out.getvalue() == "Shanghai desk (CN, 2026): 39 days changed\n"
    assert calendar.days.count() == 39
    assert other.days.count() == 0


def test_command_refuses_an_unknown_calendar():
    with pytest.raises(CommandError, match="No business calendar named 'Mars'"):
        call_command("sla_import_holidays", "--calendar", "Mars", stdout=StringIO())


def test_command_warns_about_china_years_without_published_make_up_days():
    china_calendar()
    out, err = StringIO(), StringIO()

    call_command(
        "sla_import_holidays",
        "--years",
        "2030",
        "--calendar",
        "Shanghai desk",
        stdout=out,
        stderr=err,
    )

    assert out.getvalue().startswith("Shanghai desk (CN, 2030): ")
    assert "make-up working days of 2030 are not published" in err.getvalue()
