"""Business calendars (ISO/IEC 20000-1:2018 8.3.3): loading a calendar for the business-time
arithmetic, importing public holidays and make-up working days, and telling the clocks
that a calendar changed.

Where the days come from: the `holidays` library for every country; for mainland China
(CN) the `chinesecalendar` package for the years it covers, because it lists every day
of each State Council break (including the weekend days inside it, which matter to
calendars with weekend hours) and the make-up working days (调休). For a Chinese year it
does not know yet, the days `holidays` computes (statutory holidays and its own guess of
observed days, no make-up working days) are imported and a warning is logged: import
again once chinesecalendar knows the year; the import replaces them. Admin-entered days
(empty source) always win.
"""

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, timedelta
from functools import partial

import chinese_calendar
import holidays
import pghistory
import structlog
from django.core.cache import cache
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from core.exceptions import DomainError

from .business_time import CalendarSpec
from .choices import CalendarDayKind, Weekday
from .models import BusinessCalendar, CalendarDay

logger = structlog.get_logger("itsm.sla")

SOURCE_HOLIDAYS = "holidays"
SOURCE_CHINESE_CALENDAR = "chinese-calendar"
SPEC_CACHE_SECONDS = 3600

# date -> (kind, name, source)
ImportedDays = dict[date, tuple[str, str, str]]


def calendar_spec_get(*, calendar_id: int, version: int | None = None) -> CalendarSpec:
    """The spec of a calendar from the shared cache, keyed by its version (every edit
    bumps it, so a cached spec is never stale); loaded from the database on a miss."""
    if version is None:
        version = (
            BusinessCalendar.objects.filter(pk=calendar_id).values_list("version", flat=True).get()
        )
    key = f"sla:calendar-spec:{calendar_id}:{version}"
    spec = cache.get(key)
    if spec is None:
        spec = calendar_spec_load(BusinessCalendar.objects.get(pk=calendar_id))
        cache.set(key, spec, SPEC_CACHE_SECONDS)
    return spec


def calendar_spec_load(calendar: BusinessCalendar) -> CalendarSpec:
    """The calendar as plain data for `sla.business_time`: two queries (none for 24x7).

    An extra working day works the intervals of its `hours_of` weekday.
    """
    if calendar.is_24x7:
        return CalendarSpec(time_zone=calendar.time_zone, is_24x7=True)
    weekly: dict[int, list] = defaultdict(list)
    for weekday, start, end in calendar.intervals.values_list("weekday", "start", "end"):
        weekly[weekday].append((start, end))
    days = {
        day: () if kind == CalendarDayKind.HOLIDAY else tuple(weekly.get(hours_of, ()))
        for day, kind, hours_of in calendar.days.values_list("date", "kind", "hours_of")
    }
    return CalendarSpec(
        time_zone=calendar.time_zone,
        weekly={weekday: tuple(intervals) for weekday, intervals in weekly.items()},
        days=days,
    )


def _chinese_calendar_knows(year: int) -> bool:
    try:
        chinese_calendar.get_holiday_detail(date(year, 1, 1))
    except NotImplementedError:
        return False
    return True


def _chinese_calendar_year(year: int) -> ImportedDays | None:
    """Every holiday and make-up working day of a year, or None if the package does not
    know the year yet."""
    if not _chinese_calendar_knows(year):
        return None
    day = date(year, 1, 1)
    result: ImportedDays = {}
    while day.year == year:
        on_holiday, name = chinese_calendar.get_holiday_detail(day)
        if name:  # None for an ordinary weekday or weekend day
            kind = CalendarDayKind.HOLIDAY if on_holiday else CalendarDayKind.WORKING_DAY
            result[day] = (kind, str(name), SOURCE_CHINESE_CALENDAR)
        day += timedelta(days=1)
    return result


def _holidays_year(country: str, subdivision: str | None, year: int) -> ImportedDays:
    try:
        calendar = holidays.country_holidays(country, subdiv=subdivision, years=year)
    except NotImplementedError as exc:
        raise DomainError(
            _("The holidays library does not know the country %(country)s.")
            % {"country": country if not subdivision else f"{country}-{subdivision}"},
            code="unknown_holiday_country",
        ) from exc
    result: ImportedDays = {
        day: (CalendarDayKind.HOLIDAY, name, SOURCE_HOLIDAYS) for day, name in calendar.items()
    }
    for day in calendar.weekend_workdays:
        if day.year == year:
            result[day] = (CalendarDayKind.WORKING_DAY, "", SOURCE_HOLIDAYS)
    return result


def holidays_provisional_years(*, country: str, years: Iterable[int]) -> list[int]:
    """The years for which China's break arrangement (make-up working days) is not known
    yet, so only the days the `holidays` library computes are imported."""
    if country.strip().upper().partition("-")[0] != "CN":
        return []
    return [year for year in sorted(set(years)) if not _chinese_calendar_knows(year)]


def holidays_fetch(*, country: str, years: Iterable[int]) -> ImportedDays:
    """The public holidays and make-up working days of a country ("DE", or with a
    subdivision "DE-BY") in the given years, each with its source library."""
    code, _sep, subdivision = country.strip().upper().partition("-")
    result: ImportedDays = {}
    for year in sorted(set(years)):
        days = _chinese_calendar_year(year) if code == "CN" else None
        if days is None:
            if code == "CN":
                logger.warning("sla_china_year_unpublished", year=year)
            days = _holidays_year(code, subdivision or None, year)
        result.update(days)
    return result


def calendar_holidays_import(
    *, calendar: BusinessCalendar, years: Iterable[int], actor: User | None = None
) -> int:
    """Import the public holidays and make-up working days of the calendar's country for
    the given years; returns how many calendar days were created, changed or removed.

    Idempotent: a repeated import changes nothing and returns 0. Days entered by an
    admin (empty source) are never overwritten; imported days of those years that the
    library no longer lists are removed. Clocks on the calendar recompute if anything
    changed.
    """
    years = sorted(set(years))
    if not calendar.holiday_country:
        raise DomainError(
            _("The calendar %(name)s names no country for public holidays.")
            % {"name": calendar.name},
            code="no_holiday_country",
        )
    fetched = holidays_fetch(country=calendar.holiday_country, years=years)
    with transaction.atomic(), pghistory.context(user=actor.pk if actor else None):
        calendar = BusinessCalendar.objects.select_for_update().get(pk=calendar.pk)
        existing = {
            row.date: row
            for row in CalendarDay.objects.filter(calendar=calendar, date__year__in=years)
        }
        created, changed = [], []
        for day, (kind, name, source) in sorted(fetched.items()):
            row = existing.pop(day, None)
            values = {"kind": kind, "name": name[:200], "source": source}
            if row is None:
                created.append(
                    CalendarDay(calendar=calendar, date=day, hours_of=Weekday.MONDAY, **values)
                )
            elif row.source and any(getattr(row, key) != value for key, value in values.items()):
                for key, value in values.items():
                    setattr(row, key, value)
                changed.append(row)
        stale = [row.pk for row in existing.values() if row.source]
        CalendarDay.objects.bulk_create(created)
        CalendarDay.objects.bulk_update(changed, ["kind", "name", "source"])
        CalendarDay.objects.filter(pk__in=stale).delete()
        count = len(created) + len(changed) + len(stale)
        if count:
            calendar_changed(calendar=calendar)
    logger.info(
        "sla_holidays_imported",
        calendar=calendar.pk,
        country=calendar.holiday_country,
        years=years,
        changed=count,
        actor=actor.pk if actor else None,
    )
    return count


def _clocks_recompute_enqueue(calendar_id: int) -> None:
    # Imported here: the tasks module imports the services, which import this module.
    from .tasks import clocks_recompute_task

    clocks_recompute_task.delay(calendar_id=calendar_id)


def calendar_changed(*, calendar: BusinessCalendar) -> None:
    """Record that a calendar, its hours or its days changed: bump its version and, after
    commit, recompute the live clocks that run on it from their histories."""
    BusinessCalendar.objects.filter(pk=calendar.pk).update(
        version=F("version") + 1, updated_at=timezone.now()
    )
    calendar.refresh_from_db(fields=["version", "updated_at"])
    transaction.on_commit(partial(_clocks_recompute_enqueue, calendar.pk))
