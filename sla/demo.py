"""Demo service levels: a standard SLA for every customer, a gold SLA for Acme, an OLA
for the service desk, an underpinning contract with the network carrier, availability
targets, a month of outages, and the SLA tick run over the demo month's clocks.

Two loaders: the definitions before the demo incidents (so their clocks start as they
are logged), the outages and the tick after them. Idempotent (by names).
"""

import datetime as dt

from django.db import transaction
from django.utils import timezone

from accounts.models import Organisation, SupportGroup, User
from config_items.models import ConfigurationItem

from .choices import AgreementKind, AgreementStatus, EscalationActionKind, Metric, PauseReason
from .models import Agreement, BusinessCalendar, EscalationAction, ServiceOutage, Target
from .services import clock_tick

H = dt.timedelta(hours=1)
M = dt.timedelta(minutes=1)
WAITING = [PauseReason.CUSTOMER, PauseReason.VENDOR]

# (priority, response, resolution, calendar) of the standard SLA; office-hours targets
# count business time of the Europe office hours calendar.
_STANDARD = [
    (1, 15 * M, 4 * H, "24x7"),
    (2, 30 * M, 8 * H, "24x7"),
    (3, 4 * H, 27 * H, "Europe office hours"),
    (4, 8 * H, 45 * H, "Europe office hours"),
    (5, 16 * H, 90 * H, "Europe office hours"),
]
_GOLD = [(1, 10 * M, 2 * H, "24x7"), (2, 15 * M, 4 * H, "24x7")]


def _target(agreement, name, metric, priority, duration, calendar, **extra) -> Target:
    target, _created = Target.objects.update_or_create(
        agreement=agreement,
        name=name,
        defaults={
            "metric": metric,
            "record_type": "incidents.incident",
            "priorities": [priority] if priority else [],
            "duration": duration,
            "calendar": calendar,
            "pause_on": WAITING if metric == Metric.RESOLUTION else [],
            **extra,
        },
    )
    return target


def _action(target, at_percent, action, **extra) -> None:
    EscalationAction.objects.get_or_create(
        target=target, at_percent=at_percent, action=action, defaults=extra
    )


def _agreement(kind: str, name: str, reference: str, start: dt.date, description: str, **extra):
    agreement, _created = Agreement.objects.update_or_create(
        kind=kind,
        name=name,
        defaults={
            "reference": reference,
            "status": AgreementStatus.ACTIVE,
            "valid_from": start,
            "description": description,
            **extra,
        },
    )
    return agreement


def _response_and_resolution(agreement, prefix, priority, response, resolution, calendar):
    """A first-response and a resolution target for one priority; returns the latter."""
    _target(
        agreement, f"{prefix}P{priority} response", Metric.RESPONSE, priority, response, calendar
    )
    return _target(
        agreement,
        f"{prefix}P{priority} resolution",
        Metric.RESOLUTION,
        priority,
        resolution,
        calendar,
    )


@transaction.atomic
def sla_demo_load() -> dict[str, int]:
    """Agreements, targets and escalations of the demo (before the demo incidents)."""
    calendars = {c.name: c for c in BusinessCalendar.objects.all()}
    if not {"24x7", "Europe office hours"} <= set(calendars):
        return {"agreements": 0}
    start = timezone.localdate().replace(day=1) - dt.timedelta(days=400)
    services = {s.name: s for s in ConfigurationItem.objects.exclude(ci_class__service_kind="")}
    groups = {g.name: g for g in SupportGroup.objects.all()}
    manager = User.objects.filter(username="manager").first()

    standard = _agreement(
        AgreementKind.SLA,
        "Standard support",
        "SLA-STD-2026",
        start,
        "Service levels every customer gets, by priority.",
    )
    for priority, response, resolution, calendar in _STANDARD:
        target = _response_and_resolution(
            standard, "", priority, response, resolution, calendars[calendar]
        )
        _action(target, 75, EscalationActionKind.NOTIFY_ASSIGNEE)
        _action(target, 100, EscalationActionKind.NOTIFY_GROUP_MANAGER)
        if priority == 3:
            _action(target, 100, EscalationActionKind.RAISE_PRIORITY, priority=2)

    gold = _agreement(
        AgreementKind.SLA,
        "Acme gold",
        "SLA-ACME-GOLD",
        start,
        "Acme's premium support: faster for priorities 1 and 2.",
    )
    acme = Organisation.objects.filter(code="acme").first()
    if acme:
        gold.organisations.set([acme])
    for priority, response, resolution, calendar in _GOLD:
        target = _response_and_resolution(
            gold, "Gold ", priority, response, resolution, calendars[calendar]
        )
        action, _created = EscalationAction.objects.get_or_create(
            target=target, at_percent=90, action=EscalationActionKind.NOTIFY_USERS
        )
        action.users.set([manager] if manager else [])
    if "Online shop" in services:
        availability = _target(
            gold,
            "Online shop availability",
            Metric.AVAILABILITY,
            None,
            None,
            None,
            availability_percent="99.9000",
            pause_on=[],
        )
        availability.services.set([services["Online shop"]])

    china = calendars.get("China office hours")
    pearl = Organisation.objects.filter(code="pearl-retail").first()
    if china and pearl:
        shanghai = _agreement(
            AgreementKind.SLA,
            "Pearl Retail Shanghai support",
            "SLA-PEARL-SH",
            start,
            "Shanghai office hours, Chinese public holidays and 调休.",
        )
        shanghai.organisations.set([pearl])
        for priority, response, resolution in ((3, 2 * H, 18 * H), (4, 4 * H, 36 * H)):
            target = _response_and_resolution(
                shanghai, "Shanghai ", priority, response, resolution, china
            )
            _action(target, 75, EscalationActionKind.NOTIFY_ASSIGNEE)
            _action(target, 100, EscalationActionKind.NOTIFY_GROUP_MANAGER)

    if "Service Desk" in groups:
        ola = _agreement(
            AgreementKind.OLA,
            "Service desk first-line handling",
            "OLA-SD-01",
            start,
            "The service desk takes and resolves or passes on incidents.",
        )
        ola.support_groups.set([groups["Service Desk"]])
        target = _target(
            ola,
            "Resolve or pass on",
            Metric.RESOLUTION,
            None,
            16 * H,
            calendars["Europe office hours"],
        )
        _action(target, 90, EscalationActionKind.NOTIFY_GROUP_MANAGER)

    carrier = _agreement(
        AgreementKind.UC,
        "WAN carrier contract",
        "UC-NET-7",
        start,
        "The carrier's promise behind the network services.",
        supplier="Northwind Telecom",
    )
    target = _target(
        carrier, "Carrier fault repair", Metric.RESOLUTION, None, 6 * H, calendars["24x7"]
    )
    target.priorities = [1, 2, 3]
    target.save(update_fields=["priorities"])
    from incidents.models import Category

    target.categories.set(Category.objects.filter(name="Network", parent=None))
    return {"agreements": Agreement.objects.count(), "targets": Target.objects.count()}


def sla_outages_demo_load() -> dict[str, int]:
    """Outages of the demo month (the major incident's, and a maintenance window), then
    the SLA tick over the month's clocks (after the demo incidents)."""
    from incidents.models import Incident

    shop = ConfigurationItem.objects.filter(name="Online shop").first()
    creator = User.objects.filter(username="manager").first()
    if shop and creator and not ServiceOutage.objects.filter(service=shop).exists():
        major = Incident.objects.filter(service=shop, is_major=True).order_by("pk").first()
        start = major.created_at if major else timezone.now() - dt.timedelta(days=3)
        ServiceOutage.objects.create(
            service=shop,
            started_at=start,
            ended_at=start + dt.timedelta(minutes=47),
            incident=major,
            description="Checkout failed for all customers.",
            created_by=creator,
        )
        window = (timezone.now() - dt.timedelta(days=12)).replace(
            hour=1, minute=0, second=0, microsecond=0
        )
        ServiceOutage.objects.create(
            service=shop,
            started_at=window,
            ended_at=window + 2 * H,
            is_planned=True,
            description="Database upgrade (agreed maintenance window).",
            created_by=creator,
        )
    return {"outages": ServiceOutage.objects.count(), "sla_events": clock_tick()}
