"""Default business calendars: 24x7, China office hours and Europe office hours, with the
public holidays (and China's make-up working days) of 2025-2027.

Self-contained on purpose (no app imports): the holiday logic is a frozen copy of
sla.calendars.holidays_fetch; `manage.py sla_import_holidays` refreshes the days later.
"""

import datetime as dt

from django.db import migrations

CALENDARS = [
    {
        "name": "24x7",
        "description": "Every second counts.",
        "time_zone": "UTC",
        "is_24x7": True,
        "holiday_country": "",
        "hours": {},
    },
    {
        "name": "China office hours",
        "description": "Monday to Friday 09:00-12:00 and 13:30-18:00 China Standard Time, "
        "without public holidays, with make-up working days.",
        "time_zone": "Asia/Shanghai",
        "is_24x7": False,
        "holiday_country": "CN",
        "hours": {day: [(dt.time(9), dt.time(12)), (dt.time(13, 30), dt.time(18))] for day in range(5)},
    },
    {
        "name": "Europe office hours",
        "description": "Monday to Friday 08:00-17:00 in Berlin, without German public holidays.",
        "time_zone": "Europe/Berlin",
        "is_24x7": False,
        "holiday_country": "DE",
        "hours": {day: [(dt.time(8), dt.time(17))] for day in range(5)},
    },
]
YEARS = (2025, 2026, 2027)


def _days(country, year):
    """{date: (kind, name, source)} as sla.calendars.holidays_fetch gives it."""
    if country == "CN":
        import chinese_calendar

        day = dt.date(year, 1, 1)
        try:
            chinese_calendar.get_holiday_detail(day)
        except NotImplementedError:
            pass
        else:
            result = {}
            while day.year == year:
                on_holiday, name = chinese_calendar.get_holiday_detail(day)
                if name:
                    kind = "holiday" if on_holiday else "working_day"
                    result[day] = (kind, str(name), "chinese-calendar")
                day += dt.timedelta(days=1)
            return result
    import holidays

    calendar = holidays.country_holidays(country, years=year)
    result = {day: ("holiday", name, "holidays") for day, name in calendar.items()}
    for day in calendar.weekend_workdays:
        if day.year == year:
            result[day] = ("working_day", "", "holidays")
    return result


def calendars_create(apps, schema_editor):
    BusinessCalendar = apps.get_model("sla", "BusinessCalendar")
    WorkingInterval = apps.get_model("sla", "WorkingInterval")
    CalendarDay = apps.get_model("sla", "CalendarDay")
    for data in CALENDARS:
        calendar, created = BusinessCalendar.objects.get_or_create(
            name=data["name"],
            defaults={
                key: data[key] for key in ("description", "time_zone", "is_24x7", "holiday_country")
            },
        )
        if not created:
            continue
        WorkingInterval.objects.bulk_create(
            WorkingInterval(calendar=calendar, weekday=weekday, start=start, end=end)
            for weekday, intervals in data["hours"].items()
            for start, end in intervals
        )
        if data["holiday_country"]:
            days = {}
            for year in YEARS:
                days.update(_days(data["holiday_country"], year))
            CalendarDay.objects.bulk_create(
                CalendarDay(
                    calendar=calendar, date=day, kind=kind, name=name[:200], source=source, hours_of=0
                )
                for day, (kind, name, source) in sorted(days.items())
            )


def calendars_delete(apps, schema_editor):
    BusinessCalendar = apps.get_model("sla", "BusinessCalendar")
    BusinessCalendar.objects.filter(
        name__in=[data["name"] for data in CALENDARS], targets__isnull=True, clocks__isnull=True
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("sla", "0002_track_service_outages")]

    operations = [migrations.RunPython(calendars_create, calendars_delete)]
