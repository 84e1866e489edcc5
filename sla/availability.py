"""Service outages and measured availability (ISO/IEC 20000-1:2018 8.7.1 service
availability management, against the targets agreed under 8.3.3).

How availability is measured (the rule an auditor checks by hand):
- The period [start, end) is the service time. Agreed maintenance windows (planned
  outages) are not agreed service time: agreed_time = period - planned maintenance.
- Downtime is the union of the unplanned outages clipped to the period, minus any part
  that falls inside planned maintenance. Overlapping outages are merged first, so no
  second is counted twice.
- An outage without an end is still going on: it counts up to min(now, end). The whole
  period is agreed time, so a month in progress shows the figure it ends with if the
  service fails no more.
- measured = (agreed_time - downtime) / agreed_time, truncated (never rounded up) to four
  decimals; 100 when there is no agreed time. Whether the target is met is decided on the
  exact figures, not on the truncated percentage.
"""

import datetime as dt
from decimal import ROUND_DOWN, Decimal

import pghistory
from django.db import transaction
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from config_items.models import ConfigurationItem
from core.choices import EventType
from core.exceptions import DomainError
from core.services import event_record
from incidents.models import Incident

from .choices import AgreementStatus, Metric
from .models import Agreement, ServiceOutage, Target

# Ticket event types written on a linked incident.
OUTAGE_RECORDED = EventType.OUTAGE_RECORDED
OUTAGE_ENDED = EventType.OUTAGE_ENDED

Interval = tuple[dt.datetime, dt.datetime]


def _outage_data(outage: ServiceOutage) -> dict:
    return {
        "outage": outage.pk,
        "service": outage.service.name,
        "service_id": outage.service_id,
        "started_at": outage.started_at.isoformat(),
        "ended_at": outage.ended_at.isoformat() if outage.ended_at else None,
        "is_planned": outage.is_planned,
    }


def outage_record(
    *,
    actor: User,
    service: ConfigurationItem,
    started_at: dt.datetime,
    ended_at: dt.datetime | None = None,
    is_planned: bool = False,
    incident: Incident | None = None,
    description: str = "",
) -> ServiceOutage:
    """Record that a service was (or is, without an end) unavailable, or an agreed
    maintenance window. Outages of the same kind of one service never overlap, so the
    outage list reads as a plain history; the measurement merges overlaps anyway.

    The row's history is kept by pghistory; a linked incident gets an event on its
    timeline so its record shows the outage it caused.
    """
    if not service.ci_class.is_service:
        raise DomainError(_("Only a service can have outages."), code="not_a_service")
    if ended_at is not None and ended_at <= started_at:
        raise DomainError(
            _("The end of an outage must be after its start."), code="outage_end_before_start"
        )
    now = timezone.now()
    if not is_planned and started_at > now:
        raise DomainError(
            _("An unplanned outage cannot start in the future."), code="outage_in_future"
        )
    with transaction.atomic(), pghistory.context(user=actor.pk):
        # Serialises recordings for one service, so two overlapping outages cannot both
        # pass the check below.
        ConfigurationItem.objects.select_for_update(of=("self",)).filter(pk=service.pk).get()
        overlapping = ServiceOutage.objects.filter(service=service, is_planned=is_planned).filter(
            Q(ended_at__isnull=True) | Q(ended_at__gt=started_at)
        )
        if ended_at is not None:
            overlapping = overlapping.filter(started_at__lt=ended_at)
        if overlapping.exists():
            raise DomainError(
                _("This overlaps another planned maintenance of the service.")
                if is_planned
                else _("This overlaps another outage of the service."),
                code="outage_overlaps",
                status=409,
            )
        outage = ServiceOutage(
            service=service,
            started_at=started_at,
            ended_at=ended_at,
            is_planned=is_planned,
            incident=incident,
            description=description,
            created_by=actor,
        )
        outage.full_clean()
        outage.save()
        if incident is not None:
            event_record(
                ticket=incident, event_type=OUTAGE_RECORDED, actor=actor, data=_outage_data(outage)
            )
    return outage


def outage_end(*, actor: User, outage: ServiceOutage, ended_at: dt.datetime) -> ServiceOutage:
    """End an outage that is still going on (the service is back, or maintenance is over)."""
    with transaction.atomic(), pghistory.context(user=actor.pk):
        outage = (
            ServiceOutage.objects.select_for_update(of=("self",))
            .select_related("service", "incident")
            .get(pk=outage.pk)
        )
        if outage.ended_at is not None:
            raise DomainError(
                _("This outage has already ended."), code="outage_already_ended", status=409
            )
        if ended_at <= outage.started_at:
            raise DomainError(
                _("The end of an outage must be after its start."),
                code="outage_end_before_start",
            )
        outage.ended_at = ended_at
        outage.full_clean()
        outage.save(update_fields=["ended_at"])
        if outage.incident is not None:
            event_record(
                ticket=outage.incident,
                event_type=OUTAGE_ENDED,
                actor=actor,
                data=_outage_data(outage),
            )
    return outage


def service_outage_list(*, service: ConfigurationItem) -> QuerySet[ServiceOutage]:
    """The outages of a service, most recent first, with what a list row shows."""
    return (
        ServiceOutage.objects.filter(service=service)
        .select_related("incident", "created_by")
        .order_by("-started_at", "-pk")
    )


def service_outage_get(*, pk: int) -> ServiceOutage:
    """One outage with its service; DoesNotExist when there is none."""
    return ServiceOutage.objects.select_related("service__ci_class", "incident").get(pk=pk)


def _covering(service: ConfigurationItem) -> Q:
    """Agreements that name the service, or name no service at all (every service)."""
    through = Agreement.services.through
    names_it = Exists(
        through.objects.filter(agreement_id=OuterRef("pk"), configurationitem_id=service.pk)
    )
    names_any = Exists(through.objects.filter(agreement_id=OuterRef("pk")))
    return Q(names_it) | ~Q(names_any)


def _targets_for(service: ConfigurationItem) -> QuerySet[Target]:
    """Active targets that apply to the service (a target may narrow to services)."""
    through = Target.services.through
    names_it = Exists(
        through.objects.filter(target_id=OuterRef("pk"), configurationitem_id=service.pk)
    )
    names_any = Exists(through.objects.filter(target_id=OuterRef("pk")))
    return Target.objects.filter(is_active=True).filter(Q(names_it) | ~Q(names_any))


def service_agreements(*, service: ConfigurationItem, on: dt.date) -> QuerySet[Agreement]:
    """Active agreements in force on a date that cover the service, each with its active
    targets that apply to the service in `applicable_targets` (calendar loaded)."""
    return (
        Agreement.objects.filter(status=AgreementStatus.ACTIVE, valid_from__lte=on)
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=on))
        .filter(_covering(service))
        .prefetch_related(
            Prefetch(
                "targets",
                queryset=_targets_for(service)
                .select_related("calendar")
                .order_by("metric", "name", "pk"),
                to_attr="applicable_targets",
            )
        )
        .order_by("kind", "name", "pk")
    )


def service_availability_target(
    *, service: ConfigurationItem, start: dt.datetime, end: dt.datetime
) -> Decimal | None:
    """The strictest availability target of the active agreements in force during the
    period that cover the service; None when nothing promises availability."""
    local_tz = timezone.get_default_timezone()
    first_day = timezone.localtime(start, local_tz).date()
    last_day = timezone.localtime(end - dt.timedelta(microseconds=1), local_tz).date()
    agreements = (
        Agreement.objects.filter(status=AgreementStatus.ACTIVE, valid_from__lte=last_day)
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=first_day))
        .filter(_covering(service))
    )
    percents = (
        _targets_for(service)
        .filter(metric=Metric.AVAILABILITY, agreement__in=agreements)
        .exclude(availability_percent__isnull=True)
        .values_list("availability_percent", flat=True)
    )
    return max(percents, default=None)


def _merge(intervals: list[Interval]) -> list[Interval]:
    """Sorted, disjoint intervals covering the same moments."""
    merged: list[Interval] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def _total(intervals: list[Interval]) -> dt.timedelta:
    return sum((end - start for start, end in intervals), dt.timedelta(0))


def _overlap(a: list[Interval], b: list[Interval]) -> dt.timedelta:
    """Time covered by both lists of sorted, disjoint intervals."""
    total = dt.timedelta(0)
    i = j = 0
    while i < len(a) and j < len(b):
        start, end = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if end > start:
            total += end - start
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return total


def _micros(delta: dt.timedelta) -> int:
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def service_availability(
    *,
    service: ConfigurationItem,
    start: dt.datetime,
    end: dt.datetime,
    now: dt.datetime | None = None,
) -> dict:
    """Measured availability of a service over [start, end) against its strictest
    availability target (the rules are in the module docstring).

    Returns agreed_time, downtime, planned_downtime (timedeltas), measured_percent
    (Decimal, 4 places), target_percent (Decimal or None) and is_met (None without a
    target).
    """
    now = now or timezone.now()
    horizon = min(now, end)
    rows = ServiceOutage.objects.filter(service=service, started_at__lt=end).filter(
        Q(ended_at__isnull=True) | Q(ended_at__gt=start)
    )
    planned: list[Interval] = []
    unplanned: list[Interval] = []
    for started_at, ended_at, is_planned in rows.values_list(
        "started_at", "ended_at", "is_planned"
    ):
        clipped = (max(started_at, start), min(ended_at or horizon, end))
        if clipped[1] > clipped[0]:
            (planned if is_planned else unplanned).append(clipped)
    planned, unplanned = _merge(planned), _merge(unplanned)
    planned_downtime = _total(planned)
    downtime = _total(unplanned) - _overlap(unplanned, planned)
    agreed_time = max(end - start, dt.timedelta(0)) - planned_downtime
    agreed, down = _micros(agreed_time), _micros(downtime)
    if agreed > 0:
        exact = Decimal(agreed - down) * 100 / Decimal(agreed)
        measured = exact.quantize(Decimal("0.0001"), rounding=ROUND_DOWN)
    else:
        measured = Decimal("100.0000")
    target = service_availability_target(service=service, start=start, end=end)
    is_met = None
    if target is not None:
        # Exact integer arithmetic: up = agreed - down; met when up / agreed >= target / 100.
        is_met = agreed == 0 or Decimal(agreed - down) * 100 >= target * agreed
    return {
        "agreed_time": agreed_time,
        "downtime": downtime,
        "planned_downtime": planned_downtime,
        "measured_percent": measured,
        "target_percent": target,
        "is_met": is_met,
    }


def month_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The month of `day` as aware datetimes in the default time zone (as the SLA
    rollups count months), start inclusive, end exclusive."""
    tz = timezone.get_default_timezone()
    first = day.replace(day=1)
    following = (first + dt.timedelta(days=32)).replace(day=1)
    return (
        dt.datetime.combine(first, dt.time(), tzinfo=tz),
        dt.datetime.combine(following, dt.time(), tzinfo=tz),
    )


def service_availability_months(
    *, service: ConfigurationItem, now: dt.datetime | None = None
) -> list[dict]:
    """Availability this month and last month, each with its `month` (the 1st)."""
    now = now or timezone.now()
    today = timezone.localtime(now, timezone.get_default_timezone()).date()
    this_start, this_end = month_bounds(today)
    last_start, last_end = month_bounds(this_start.date() - dt.timedelta(days=1))
    return [
        {
            "month": bounds[0].date(),
            **service_availability(service=service, start=bounds[0], end=bounds[1], now=now),
        }
        for bounds in ((this_start, this_end), (last_start, last_end))
    ]
