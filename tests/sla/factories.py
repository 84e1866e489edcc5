"""Factories for every model of service level management.

BusinessCalendarFactory() is 24x7; BusinessCalendarFactory(office_hours=True) (or
`office_hours_calendar()`) adds Monday-Friday 09:00-12:00 and 13:00-18:00 in Europe/Berlin.
"""

import datetime as dt

import factory
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from config_items.models import CIClass
from sla.choices import (
    AgreementKind,
    AgreementStatus,
    CalendarDayKind,
    ClockEventKind,
    EscalationActionKind,
    Metric,
    Weekday,
)
from sla.models import (
    Agreement,
    BusinessCalendar,
    CalendarDay,
    Clock,
    ClockEvent,
    EscalationAction,
    ServiceOutage,
    Target,
    WorkingInterval,
)
from tests.config_items.factories import ConfigurationItemFactory
from tests.factories import UserFactory

OFFICE_HOURS = ((dt.time(9), dt.time(12)), (dt.time(13), dt.time(18)))


class BusinessCalendarFactory(factory.django.DjangoModelFactory):
    """A 24x7 calendar in UTC; the trait office_hours=True gives Mon-Fri 9-12, 13-18 Berlin."""

    class Meta:
        model = BusinessCalendar
        django_get_or_create = ("name",)
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Calendar {n}")
    time_zone = "UTC"
    is_24x7 = True

    class Params:
        office_hours = factory.Trait(
            is_24x7=False,
            time_zone="Europe/Berlin",
            name=factory.Sequence(lambda n: f"Office hours {n}"),
        )

    intervals = factory.Maybe(
        "office_hours",
        yes_declaration=factory.PostGeneration(
            lambda calendar, create, extracted, **kw: (
                _office_intervals_add(calendar) if create else None
            )
        ),
        no_declaration=None,
    )


def _office_intervals_add(calendar: BusinessCalendar) -> None:
    for weekday in range(Weekday.MONDAY, Weekday.SATURDAY):
        for start, end in OFFICE_HOURS:
            WorkingInterval.objects.get_or_create(
                calendar=calendar, weekday=weekday, start=start, end=end
            )


def office_hours_calendar(**kwargs) -> BusinessCalendar:
    """A calendar with working hours Monday-Friday 09:00-12:00 and 13:00-18:00."""
    return BusinessCalendarFactory(office_hours=True, **kwargs)


class WorkingIntervalFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WorkingInterval

    calendar = factory.SubFactory(BusinessCalendarFactory, is_24x7=False)
    weekday = Weekday.MONDAY
    start = dt.time(9)
    end = dt.time(17)


class CalendarDayFactory(factory.django.DjangoModelFactory):
    """A holiday by default; kind=CalendarDayKind.WORKING_DAY for a make-up working day."""

    class Meta:
        model = CalendarDay

    calendar = factory.SubFactory(BusinessCalendarFactory, is_24x7=False)
    date = factory.Sequence(lambda n: dt.date(2026, 1, 1) + dt.timedelta(days=n))
    kind = CalendarDayKind.HOLIDAY
    name = factory.Sequence(lambda n: f"Holiday {n}")
    hours_of = Weekday.MONDAY


class AgreementFactory(factory.django.DjangoModelFactory):
    """An active SLA valid since 2020-01-01 for every service and customer."""

    class Meta:
        model = Agreement
        skip_postgeneration_save = True

    kind = AgreementKind.SLA
    name = factory.Sequence(lambda n: f"Agreement {n}")
    status = AgreementStatus.ACTIVE
    valid_from = dt.date(2020, 1, 1)

    @factory.post_generation
    def services(self, create, extracted, **kwargs):
        if create and extracted:
            self.services.set(extracted)

    @factory.post_generation
    def organisations(self, create, extracted, **kwargs):
        if create and extracted:
            self.organisations.set(extracted)

    @factory.post_generation
    def support_groups(self, create, extracted, **kwargs):
        if create and extracted:
            self.support_groups.set(extracted)


class TargetFactory(factory.django.DjangoModelFactory):
    """Resolution in 4 hours of a 24x7 calendar, warnings at 50/75/90 %."""

    class Meta:
        model = Target
        skip_postgeneration_save = True

    agreement = factory.SubFactory(AgreementFactory)
    name = factory.Sequence(lambda n: f"Target {n}")
    metric = Metric.RESOLUTION
    duration = dt.timedelta(hours=4)
    calendar = factory.SubFactory(BusinessCalendarFactory)
    thresholds = factory.LazyFunction(lambda: [50, 75, 90])

    @factory.post_generation
    def services(self, create, extracted, **kwargs):
        if create and extracted:
            self.services.set(extracted)

    @factory.post_generation
    def organisations(self, create, extracted, **kwargs):
        if create and extracted:
            self.organisations.set(extracted)

    @factory.post_generation
    def categories(self, create, extracted, **kwargs):
        if create and extracted:
            self.categories.set(extracted)


class EscalationActionFactory(factory.django.DjangoModelFactory):
    """Notify the assignee at 100 % (the breach)."""

    class Meta:
        model = EscalationAction
        skip_postgeneration_save = True

    target = factory.SubFactory(TargetFactory)
    at_percent = 100
    action = EscalationActionKind.NOTIFY_ASSIGNEE

    @factory.post_generation
    def users(self, create, extracted, **kwargs):
        if create and extracted:
            self.users.set(extracted)


class ServiceFactory(ConfigurationItemFactory):
    """A configuration item of the standard class business_service."""

    name = factory.Sequence(lambda n: f"service-{n:05d}")
    ci_class = factory.LazyFunction(lambda: CIClass.objects.get(code="business_service"))


class ServiceOutageFactory(factory.django.DjangoModelFactory):
    """An unplanned outage of one hour that has ended."""

    class Meta:
        model = ServiceOutage

    service = factory.SubFactory(ServiceFactory)
    started_at = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(hours=2))
    ended_at = factory.LazyAttribute(lambda o: o.started_at + dt.timedelta(hours=1))
    is_planned = False
    created_by = factory.SubFactory(UserFactory)


class ClockFactory(factory.django.DjangoModelFactory):
    """A running clock of a target on a record: pass record=<ticket> (required).

    A bare row for reads (API, admin); the engine (sla.services) creates real clocks.
    """

    class Meta:
        model = Clock
        exclude = ("record",)

    record = None
    content_type = factory.LazyAttribute(lambda o: ContentType.objects.get_for_model(o.record))
    object_id = factory.LazyAttribute(lambda o: o.record.pk)
    target = factory.SubFactory(TargetFactory)
    calendar = factory.LazyAttribute(lambda o: o.target.calendar)
    kind = factory.LazyAttribute(lambda o: o.target.agreement.kind)
    metric = factory.LazyAttribute(lambda o: o.target.metric)
    target_duration = factory.LazyAttribute(lambda o: o.target.duration)
    started_at = factory.LazyFunction(timezone.now)
    elapsed = dt.timedelta(0)
    segment_started_at = factory.LazyAttribute(lambda o: o.started_at)
    deadline_at = factory.LazyAttribute(lambda o: o.started_at + o.target_duration)


class ClockEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ClockEvent

    clock = None
    kind = ClockEventKind.STARTED
    occurred_at = factory.LazyAttribute(lambda o: o.clock.started_at)
    elapsed = dt.timedelta(0)
