from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from core.exceptions import DomainError
from sla.calendars import calendar_holidays_import, holidays_provisional_years
from sla.models import BusinessCalendar


class Command(BaseCommand):
    help = (
        "Import public holidays and make-up working days into every business calendar that "
        "names a country (default: this year and the next)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--years", nargs="+", type=int, help="e.g. --years 2026 2027")
        parser.add_argument("--calendar", help="only the calendar of this name")

    def handle(self, *args, **options):
        year = timezone.now().year
        years = options["years"] or [year, year + 1]
        calendars = BusinessCalendar.objects.exclude(holiday_country="").order_by("name")
        if options["calendar"]:
            calendars = calendars.filter(name=options["calendar"])
            if not calendars:
                raise CommandError(
                    f"No business calendar named {options['calendar']!r} with a holiday country."
                )
        for calendar in calendars:
            try:
                count = calendar_holidays_import(calendar=calendar, years=years)
            except DomainError as exc:
                raise CommandError(f"{calendar.name}: {exc}") from exc
            years_text = ", ".join(str(y) for y in sorted(set(years)))
            self.stdout.write(
                f"{calendar.name} ({calendar.holiday_country}, {years_text}): {count} days changed"
            )
            provisional = holidays_provisional_years(country=calendar.holiday_country, years=years)
            if provisional:
                self.stderr.write(
                    f"{calendar.name}: the make-up working days of "
                    f"{', '.join(str(y) for y in provisional)} are not published in "
                    "chinesecalendar yet; imported the holidays library's days only. Import "
                    "again after updating chinesecalendar."
                )
