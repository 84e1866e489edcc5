"""SLA clock volumes for the benchmarks (issue 5): a million running clocks on open
incidents and a million stopped ones over twelve months, in minutes.

`manage.py seed_volume --clocks N --closed-clocks M` (after the users and groups of
`seed_volume`) adds on top of what exists:

* Targets: three agreements named "Volume ..." (created once, reused): a standard SLA
  and a China SLA (for the organisations with an even id) with response and resolution
  targets per priority (P1/P2 on the 24x7 calendar, P3-P5 on office hours in Berlin or
  Shanghai), and an OLA with response and resolution on Berlin office hours. Thresholds
  50/75/90 %, escalation actions at 75 % (notify the assignee) and at the breach (notify
  the group manager).
* Running clocks, four per open incident (SLA and OLA, response and resolution): open
  incidents without live clocks are used first, then minimal open incidents are added.
  Each clock has counted a random share of its target (10 % are past the deadline:
  `breached_at` set, nothing pending); the thresholds not reached yet are pending with
  their exact wall-clock moments (business time of the calendar), one ClockDue row each,
  so `due_at` spreads over the next minutes to days as the targets' durations do and
  only a small fraction of the clocks is due at any moment. One "started" ClockEvent per
  clock; the incident's `sla_due_at` is the nearest deadline of its clocks.
* Stopped clocks (met or breached), four per closed incident, stopped over the last
  twelve months, attainment varying by priority, group, organisation and month; closed
  incidents created in that period without clocks are used first, then minimal closed
  incidents are added. Their wall-clock times are approximate (the elapsed business time
  is drawn, the wall span is scaled by the calendar's share of working hours); they have
  no events. AttainmentRollup is rebuilt from every stopped clock by one
  INSERT ... SELECT ... GROUP BY, which is what the engine keeps up one clock at a time.

Rows go in with COPY (`core.bulk_copy`), in chunks of rows; ids are taken from the
tables' sequences first, so clocks and their events are written without reading back.
"""

import json
import math
import random
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Organisation, SupportGroupMembership, User
from config_items.models import ConfigurationItem
from core.bulk_copy import copy_rows
from core.models import NumberCounter
from incidents.choices import OPEN_STATUSES
from incidents.models import Incident, PriorityMatrix

from .business_time import business_add, business_time
from .calendars import calendar_spec_load
from .choices import (
    AgreementKind,
    AgreementStatus,
    ClockState,
    EscalationActionKind,
    Metric,
)
from .models import (
    Agreement,
    AttainmentRollup,
    BusinessCalendar,
    Clock,
    ClockDue,
    ClockEvent,
    EscalationAction,
    Target,
    WorkingInterval,
)

CLOCKS_PER_INCIDENT = 4
BREACHED_RUNNING_SHARE = 0.10
CLOSED_MONTHS = 12
RECORD_TYPE = "incidents.incident"

# (metric, priority) -> duration; the OLA's are per metric.
_SLA_DURATIONS = {
    (Metric.RESPONSE, 1): timedelta(minutes=15),
    (Metric.RESPONSE, 2): timedelta(minutes=30),
    (Metric.RESPONSE, 3): timedelta(hours=4),
    (Metric.RESPONSE, 4): timedelta(hours=8),
    (Metric.RESPONSE, 5): timedelta(hours=16),
    (Metric.RESOLUTION, 1): timedelta(hours=4),
    (Metric.RESOLUTION, 2): timedelta(hours=8),
    (Metric.RESOLUTION, 3): timedelta(hours=24),
    (Metric.RESOLUTION, 4): timedelta(hours=40),
    (Metric.RESOLUTION, 5): timedelta(hours=80),
}
_OLA_DURATIONS = {Metric.RESPONSE: timedelta(hours=1), Metric.RESOLUTION: timedelta(hours=16)}
# Calendars by name (migration 0003 creates them): (time zone, 24x7, hours per weekday).
_CALENDARS = {
    "24x7": ("UTC", True, ()),
    "Europe office hours": ("Europe/Berlin", False, (("08:00", "17:00"),)),
    "China office hours": ("Asia/Shanghai", False, (("09:00", "12:00"), ("13:30", "18:00"))),
}
_PRIORITY_WEIGHTS = [(1, 2), (2, 9), (3, 41), (4, 35), (5, 13)]
_TITLES = [
    "Printer not working",
    "VPN keeps disconnecting",
    "Shop checkout times out",
    "ERP very slow",
    "邮箱无法登录",
    "打印机打印空白",
    "Cannot log in to payroll",
    "无线网络频繁断线",
]

_INCIDENT_COLUMNS = (
    "id", "number", "title", "description", "priority", "created_at", "updated_at",
    "closed_at", "version", "status", "channel", "impact", "urgency", "assigned_at",
    "first_response_at", "resolved_at", "pending_reason", "resolution_code",
    "resolution_notes", "reopen_count", "cancel_reason", "is_major", "assignee_id",
    "assignment_group_id", "caller_id", "created_by_id", "organisation_id", "service_id",
    "sla_due_at",
)  # fmt: skip
_CLOCK_COLUMNS = (
    "id", "content_type_id", "object_id", "target_id", "calendar_id", "kind", "metric",
    "state", "target_duration", "started_at", "stopped_at", "elapsed", "segment_started_at",
    "paused_at", "pause_reason", "deadline_at", "breached_at", "match_reason", "service_id",
    "organisation_id",
    "support_group_id", "priority", "version", "updated_at",
)  # fmt: skip
_DUE_COLUMNS = ("clock_id", "percent", "due_at")
_EVENT_COLUMNS = (
    "clock_id", "kind", "occurred_at", "percent", "elapsed", "reason", "actor_id", "data",
    "handled_at",
)  # fmt: skip


def _ids(table: str, count: int) -> list[int]:
    """`count` fresh ids from the identity sequence of `table` (unique under concurrency)."""
    if count <= 0:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [table, count],
        )
        return [row[0] for row in cursor.fetchall()]


def _calendars() -> dict[str, BusinessCalendar]:
    calendars = {}
    for name, (zone, is_24x7, hours) in _CALENDARS.items():
        calendar, created = BusinessCalendar.objects.get_or_create(
            name=name, defaults={"time_zone": zone, "is_24x7": is_24x7}
        )
        if created:
            WorkingInterval.objects.bulk_create(
                WorkingInterval(calendar=calendar, weekday=day, start=start, end=end)
                for day in range(5)
                for start, end in hours
            )
        calendars[name] = calendar
    return calendars


def _agreement(kind: str, name: str) -> tuple[Agreement, bool]:
    return Agreement.objects.get_or_create(
        kind=kind,
        name=name,
        defaults={
            "status": AgreementStatus.ACTIVE,
            "valid_from": timezone.localdate() - timedelta(days=2 * 366),
            "reference": "VOLUME",
        },
    )


def _target(agreement: Agreement, name: str, metric: str, priorities, duration, calendar):
    target, created = Target.objects.get_or_create(
        agreement=agreement,
        name=name,
        defaults={
            "metric": metric,
            "record_type": RECORD_TYPE,
            "priorities": priorities,
            "duration": duration,
            "calendar": calendar,
            "thresholds": [50, 75, 90],
            "pause_on": ["awaiting_customer", "awaiting_vendor"]
            if metric == Metric.RESOLUTION
            else [],
        },
    )
    if created:
        EscalationAction.objects.bulk_create(
            [
                EscalationAction(
                    target=target, at_percent=75, action=EscalationActionKind.NOTIFY_ASSIGNEE
                ),
                EscalationAction(
                    target=target,
                    at_percent=100,
                    action=EscalationActionKind.NOTIFY_GROUP_MANAGER,
                ),
            ]
        )
    return target


def volume_targets() -> dict[tuple[str, str, str, int], Target]:
    """The volume targets, created once: {(agreement, kind, metric, priority): target};
    agreement is "standard", "china" or "ola" (the OLA's for every priority)."""
    calendars = _calendars()
    targets = {}
    for key, name in (("standard", "Volume standard support"), ("china", "Volume China support")):
        agreement, created = _agreement(AgreementKind.SLA, name)
        if created and key == "china":
            organisations = Organisation.objects.values_list("pk", flat=True)
            agreement.organisations.set([pk for pk in organisations if pk % 2 == 0])
        office = calendars["China office hours" if key == "china" else "Europe office hours"]
        for (metric, priority), duration in _SLA_DURATIONS.items():
            calendar = calendars["24x7"] if priority <= 2 else office
            targets[(key, AgreementKind.SLA, metric, priority)] = _target(
                agreement, f"P{priority} {metric}", metric, [priority], duration, calendar
            )
    agreement, _created = _agreement(AgreementKind.OLA, "Volume service desk handling")
    for metric, duration in _OLA_DURATIONS.items():
        target = _target(
            agreement, f"OLA {metric}", metric, [], duration, calendars["Europe office hours"]
        )
        for priority in range(1, 6):
            targets[("ola", AgreementKind.OLA, metric, priority)] = target
    # One object per target, with its agreement, read once per clock.
    loaded = Target.objects.select_related("agreement").in_bulk([t.pk for t in targets.values()])
    return {key: loaded[target.pk] for key, target in targets.items()}


def _wall_factor(calendar: BusinessCalendar) -> float:
    """Wall-clock time per unit of business time (a week over its working hours)."""
    if calendar.is_24x7:
        return 1.0
    seconds = 0
    for interval in calendar.intervals.all():
        end = interval.end.hour * 3600 + interval.end.minute * 60 or 86400
        seconds += end - (interval.start.hour * 3600 + interval.start.minute * 60)
    return 168 * 3600 / seconds if seconds else 1.0


class _Clocks:
    """Business-time arithmetic of the volume clocks, memoised per calendar (the wall ages
    are whole minutes and every moment counts from the same `now`)."""

    def __init__(self, targets: dict, now: datetime) -> None:
        self.now = now
        self.calendars = {t.calendar_id for t in targets.values()}
        objects = BusinessCalendar.objects.prefetch_related("intervals").in_bulk(self.calendars)
        self.specs = {pk: calendar_spec_load(objects[pk]) for pk in self.calendars}
        self.factor = {pk: _wall_factor(objects[pk]) for pk in self.calendars}
        self._reached: dict = {}
        self._moment: dict = {}
        self._deadline: dict = {}

    def reached(self, calendar_id: int, minutes: int) -> timedelta:
        key = (calendar_id, minutes)
        if key not in self._reached:
            start = self.now - timedelta(minutes=minutes)
            self._reached[key] = business_time(self.specs[calendar_id], start, self.now)
        return self._reached[key]

    def moment(self, calendar_id: int, amount: timedelta) -> datetime:
        key = (calendar_id, amount)
        if key not in self._moment:
            self._moment[key] = business_add(self.specs[calendar_id], self.now, amount)
        return self._moment[key]

    def deadline(self, calendar_id: int, minutes: int, duration: timedelta) -> datetime:
        key = (calendar_id, minutes, duration)
        if key not in self._deadline:
            start = self.now - timedelta(minutes=minutes)
            self._deadline[key] = business_add(self.specs[calendar_id], start, duration)
        return self._deadline[key]


def _context() -> dict:
    customers = list(
        User.objects.filter(organisation__isnull=False, is_active=True).values_list(
            "pk", "organisation_id"
        )
    )
    members: dict[int, list[int]] = {}
    for group_id, user_id in SupportGroupMembership.objects.values_list("group_id", "user_id"):
        members.setdefault(group_id, []).append(user_id)
    if not customers or not members:
        raise ValueError("seed users first (seed_volume --users N): no customers or agents")
    services = list(
        ConfigurationItem.objects.exclude(ci_class__service_kind="").values_list("pk", flat=True)
    )[:200]
    matrix = {}
    for cell in PriorityMatrix.objects.all():
        matrix.setdefault(cell.priority, (cell.impact, cell.urgency))
    return {
        "customers": customers,
        "members": members,
        "groups": sorted(members),
        "services": services,
        "matrix": matrix,
    }


def _number_block(size: int) -> int:
    """Take `size` numbers from the INC counter at once; returns the first of the block."""
    table = NumberCounter._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (prefix, last_value) VALUES (%s, %s) "  # noqa: S608
            f"ON CONFLICT (prefix) DO UPDATE SET last_value = {table}.last_value + %s "
            "RETURNING last_value",
            [Incident.NUMBER_PREFIX, size, size],
        )
        last = cursor.fetchone()[0]
    return last - size + 1


def _incidents_create(rows: list[dict], context: dict) -> None:
    """COPY minimal incidents for `rows` (dicts with the facts drawn for them and the id
    reserved for them)."""
    if not rows:
        return
    first = _number_block(len(rows))
    matrix = context["matrix"]

    def lines():
        for n, row in enumerate(rows):
            impact, urgency = matrix.get(row["priority"], (2, 2))
            title = _TITLES[n % len(_TITLES)]
            yield (
                row["id"],
                f"{Incident.NUMBER_PREFIX}{first + n:07d}",
                title,
                f"{title}. Volume data for the SLA benchmarks.",
                row["priority"],
                row["created_at"],
                row["updated_at"],
                row.get("closed_at"),
                1,
                row["status"],
                "portal",
                impact,
                urgency,
                row["created_at"],
                row.get("first_response_at"),
                row.get("resolved_at"),
                "",
                "solved_workaround" if row.get("resolved_at") else "",
                "Fixed." if row.get("resolved_at") else "",
                0,
                "",
                False,
                row["assignee_id"],
                row["support_group_id"],
                row["caller_id"],
                row["caller_id"],
                row["organisation_id"],
                row["service_id"],
                row.get("sla_due_at"),
            )

    copy_rows(Incident._meta.db_table, _INCIDENT_COLUMNS, lines())


def _facts(rng: random.Random, context: dict, pick_priority) -> dict:
    """An incident's facts; most incidents of a service go to one of its two resolver
    groups, as routing rules would send them."""
    caller_id, organisation_id = rng.choice(context["customers"])
    services, groups = context["services"], context["groups"]
    service_id = rng.choice(services) if services and rng.random() < 0.8 else None
    if service_id is not None and rng.random() < 0.8:
        group_id = groups[(service_id * 7 + rng.randint(0, 1)) % len(groups)]
    else:
        group_id = rng.choice(groups)
    return {
        "priority": pick_priority(),
        "organisation_id": organisation_id,
        "caller_id": caller_id,
        "support_group_id": group_id,
        "assignee_id": rng.choice(context["members"][group_id]),
        "service_id": service_id,
    }


def _weighted(rng: random.Random, pairs):
    values, weights = zip(*pairs, strict=True)
    return lambda: rng.choices(values, weights)[0]


def _incidents_reuse(*, open_: bool, limit: int, since: datetime | None) -> list[dict]:
    """Incidents without clocks to carry the volume clocks: open ones without a live
    clock, or closed/resolved ones created after `since` without any clock."""
    content_type = ContentType.objects.get_for_model(Incident).pk
    statuses = list(OPEN_STATUSES) if open_ else ["resolved", "closed"]
    live = "AND c.state IN ('running', 'paused')" if open_ else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT i.id, i.priority, i.organisation_id, i.service_id, i.assignment_group_id,
                   i.created_at, i.resolved_at
            FROM incidents_incident i
            WHERE i.status = ANY(%s) AND i.organisation_id IS NOT NULL
              AND (%s::timestamptz IS NULL OR i.created_at >= %s)
              AND NOT EXISTS (SELECT 1 FROM sla_clock c WHERE c.content_type_id = %s
                              AND c.object_id = i.id {live})
            ORDER BY i.id LIMIT %s
            """,  # noqa: S608
            [statuses, since, since, content_type, limit],
        )
        names = [col.name for col in cursor.description]
        rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    for row in rows:
        row["support_group_id"] = row.pop("assignment_group_id")
        row["priority"] = min(max(row["priority"] or 3, 1), 5)
        row["reused"] = True
    return rows


_CLOCK_KINDS = (
    (AgreementKind.SLA, Metric.RESPONSE),
    (AgreementKind.SLA, Metric.RESOLUTION),
    (AgreementKind.OLA, Metric.RESPONSE),
    (AgreementKind.OLA, Metric.RESOLUTION),
)


def _target_of(targets: dict, incident: dict, n: int) -> Target:
    kind, metric = _CLOCK_KINDS[n % CLOCKS_PER_INCIDENT]
    if kind == AgreementKind.OLA:
        agreement = "ola"
    else:
        agreement = "china" if incident["organisation_id"] % 2 == 0 else "standard"
    return targets[(agreement, kind, metric, incident["priority"])]


def _fresh_incidents(count: int, context: dict, rng: random.Random) -> list[dict]:
    """Facts of `count` incidents to add, each with its id reserved."""
    pick_priority = _weighted(rng, _PRIORITY_WEIGHTS)
    rows = [_facts(rng, context, pick_priority) for _n in range(count)]
    for row, pk in zip(rows, _ids(Incident._meta.db_table, count), strict=True):
        row["id"] = pk
    return rows


def _running_clocks(count: int, targets: dict, context: dict, rng, now, log) -> dict[str, int]:
    started = time.perf_counter()
    needed = math.ceil(count / CLOCKS_PER_INCIDENT)
    incidents = _incidents_reuse(open_=True, limit=needed, since=None)
    reused = len(incidents)
    fresh = _fresh_incidents(needed - reused, context, rng)
    for row in fresh:
        row["status"] = rng.choice(["assigned", "in_progress", "in_progress"])
    incidents += fresh
    clock_ids = _ids(Clock._meta.db_table, count)
    content_type = ContentType.objects.get_for_model(Incident).pk
    maths = _Clocks(targets, now)
    match_reason = json.dumps({"rule": "seed_volume"})
    started_events: list[tuple[int, int, int, datetime]] = []
    dues: list[tuple[int, int, datetime]] = []

    def clock_rows():
        for n in range(count):
            incident = incidents[n // CLOCKS_PER_INCIDENT]
            target = _target_of(targets, incident, n)
            calendar_id, duration = target.calendar_id, target.duration
            breached = rng.random() < BREACHED_RUNNING_SHARE
            share = rng.uniform(1.0, 1.5) if breached else rng.random()
            wall = share * duration.total_seconds() / 60 * maths.factor[calendar_id]
            minutes = max(1, round(wall))
            started_at = now - timedelta(minutes=minutes)
            reached = maths.reached(calendar_id, minutes)
            percents, moments = [], []
            for percent in (50, 75, 90, 100):
                goal = duration * percent / 100
                if goal > reached:
                    percents.append(percent)
                    moments.append(maths.moment(calendar_id, goal - reached))
            if percents and percents[-1] == 100:
                deadline, breached_at = moments[-1], None
            else:
                deadline = breached_at = maths.deadline(calendar_id, minutes, duration)
            started_events.append((clock_ids[n], target.pk, calendar_id, started_at))
            dues.extend(
                (clock_ids[n], percent, moment)
                for percent, moment in zip(percents, moments, strict=True)
            )
            if "reused" not in incident:
                first = incident.get("created_at")
                incident["created_at"] = min(first, started_at) if first else started_at
                due = incident.get("sla_due_at")
                incident["sla_due_at"] = min(due, deadline) if due else deadline
            yield (
                clock_ids[n], content_type, incident["id"], target.pk, calendar_id,
                target.agreement.kind, target.metric, ClockState.RUNNING, duration,
                started_at, None, timedelta(0), started_at, None, "", deadline, breached_at,
                match_reason, incident["service_id"], incident["organisation_id"],
                incident["support_group_id"], incident["priority"], 1, now,
            )  # fmt: skip

    copied = copy_rows(Clock._meta.db_table, _CLOCK_COLUMNS, clock_rows())
    scheduled = copy_rows(ClockDue._meta.db_table, _DUE_COLUMNS, iter(dues))
    log(
        f"running clocks: {copied} ({scheduled} thresholds due) in "
        f"{time.perf_counter() - started:.1f} s"
    )
    step = time.perf_counter()
    for row in fresh:
        row["updated_at"] = now
    _incidents_create(fresh, context)
    log(
        f"open incidents: {reused} reused, {len(fresh)} added in {time.perf_counter() - step:.1f} s"
    )
    step = time.perf_counter()
    events = copy_rows(
        ClockEvent._meta.db_table,
        _EVENT_COLUMNS,
        (
            (pk, "started", at, None, timedelta(0), "record started", None,
             f'{{"target": {target_id}, "calendar": {calendar_id}}}', None)
            for pk, target_id, calendar_id, at in started_events
        ),
    )  # fmt: skip
    log(f"started events: {events} in {time.perf_counter() - step:.1f} s")
    if reused:
        step = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                """
                UPDATE incidents_incident i SET sla_due_at = d.due
                FROM (SELECT object_id, min(deadline_at) AS due FROM sla_clock
                      WHERE content_type_id = %s AND object_id = ANY(%s) AND state = 'running'
                      GROUP BY object_id) d
                WHERE i.id = d.object_id
                """,
                [content_type, [i["id"] for i in incidents[:reused]]],
            )
        log(f"sla_due_at of reused incidents: {time.perf_counter() - step:.1f} s")
    return {"running clocks": copied, "clock events": events, "open incidents added": len(fresh)}


def _closed_clocks(count: int, targets: dict, context: dict, rng, now, log) -> dict[str, int]:
    started = time.perf_counter()
    needed = math.ceil(count / CLOCKS_PER_INCIDENT)
    since = now - timedelta(days=30 * CLOSED_MONTHS - 20)
    incidents = _incidents_reuse(open_=False, limit=needed, since=since)
    reused = len(incidents)
    fresh = _fresh_incidents(needed - reused, context, rng)
    span = (now - since).total_seconds()
    for row in fresh:
        row["created_at"] = now - timedelta(seconds=rng.uniform(5 * 86400, span))
    incidents += fresh
    clock_ids = _ids(Clock._meta.db_table, count)
    content_type = ContentType.objects.get_for_model(Incident).pk
    factor = _Clocks(targets, now).factor
    # Attainment differs by group, organisation, priority and month: the dashboard has a
    # shape.
    group_skill = {group: rng.uniform(0.0, 0.12) for group in context["groups"]}
    match_reason = json.dumps({"rule": "seed_volume"})

    def clock_rows():
        for n in range(count):
            incident = incidents[n // CLOCKS_PER_INCIDENT]
            target = _target_of(targets, incident, n)
            opened = incident["created_at"]
            breach_share = (
                0.03
                + group_skill.get(incident["support_group_id"], 0.05)
                + (0.06 if opened.month in (1, 2, 12) else 0.0)
                + (0.05 if incident["priority"] <= 2 else 0.0)
                + (0.03 if incident["organisation_id"] % 7 == 0 else 0.0)
            )
            breached = rng.random() < breach_share
            share = rng.uniform(1.01, 2.5) if breached else rng.uniform(0.05, 1.0)
            elapsed = timedelta(seconds=round(target.duration.total_seconds() * share))
            scale = factor[target.calendar_id]
            stopped_at = min(now, opened + elapsed * scale)
            deadline = opened + target.duration * scale
            if "reused" not in incident:
                if target.metric == Metric.RESOLUTION:
                    incident["resolved_at"] = max(incident.get("resolved_at") or opened, stopped_at)
                else:
                    first = incident.get("first_response_at")
                    incident["first_response_at"] = min(first or stopped_at, stopped_at)
            yield (
                clock_ids[n], content_type, incident["id"], target.pk, target.calendar_id,
                target.agreement.kind, target.metric,
                ClockState.BREACHED if breached else ClockState.MET, target.duration, opened,
                stopped_at, elapsed, None, None, "", deadline, deadline if breached else None,
                match_reason, incident["service_id"], incident["organisation_id"],
                incident["support_group_id"], incident["priority"], 2, stopped_at,
            )  # fmt: skip

    copied = copy_rows(Clock._meta.db_table, _CLOCK_COLUMNS, clock_rows())
    log(f"closed clocks: {copied} in {time.perf_counter() - started:.1f} s")
    step = time.perf_counter()
    for row in fresh:
        resolved = row.get("resolved_at") or row["created_at"] + timedelta(hours=1)
        closed = resolved + timedelta(days=2)
        row.update(
            resolved_at=resolved,
            status="closed" if closed <= now else "resolved",
            closed_at=closed if closed <= now else None,
            updated_at=min(now, closed),
        )
    _incidents_create(fresh, context)
    log(
        f"closed incidents: {reused} reused, {len(fresh)} added in "
        f"{time.perf_counter() - step:.1f} s"
    )
    return {"closed clocks": copied, "closed incidents added": len(fresh)}


def rollups_rebuild() -> int:
    """Rebuild AttainmentRollup from every stopped (met or breached) clock, in one
    statement; returns the number of rollup rows."""
    table = AttainmentRollup._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table}")  # noqa: S608
        cursor.execute(
            f"""
            INSERT INTO {table}
                (month, target_id, kind, metric, record_type, service_id, organisation_id,
                 support_group_id, priority, met, breached, elapsed_total)
            SELECT date_trunc('month', c.stopped_at AT TIME ZONE %s)::date, c.target_id,
                   min(c.kind), min(c.metric), ct.app_label || '.' || ct.model,
                   c.service_id, c.organisation_id, c.support_group_id, c.priority,
                   count(*) FILTER (WHERE c.state = 'met'),
                   count(*) FILTER (WHERE c.state = 'breached'),
                   coalesce(sum(c.elapsed), interval '0')
            FROM sla_clock c JOIN django_content_type ct ON ct.id = c.content_type_id
            WHERE c.state IN ('met', 'breached')
            GROUP BY 1, c.target_id, 5, c.service_id, c.organisation_id, c.support_group_id,
                     c.priority
            """,  # noqa: S608
            [settings.TIME_ZONE],
        )
        return cursor.rowcount


def sla_volume_seed(
    *, clocks: int = 0, closed_clocks: int = 0, seed: int = 5, log=None, analyze: bool = True
) -> dict[str, int]:
    """Add `clocks` running clocks and `closed_clocks` stopped ones (see the module
    docstring); rebuilds the rollups when stopped clocks were added."""
    if clocks <= 0 and closed_clocks <= 0:
        return {}
    log = log or (lambda message: None)
    rng = random.Random(seed)  # noqa: S311 - reproducible benchmark data, not security
    started = time.perf_counter()
    now = timezone.now()
    targets = volume_targets()
    context = _context()
    result: dict[str, int] = {}
    if clocks > 0:
        result |= _running_clocks(clocks, targets, context, rng, now, log)
    if closed_clocks > 0:
        result |= _closed_clocks(closed_clocks, targets, context, rng, now, log)
        step = time.perf_counter()
        result["attainment rollups"] = rollups_rebuild()
        rebuilt = result["attainment rollups"]
        log(f"rollups rebuilt: {rebuilt} rows in {time.perf_counter() - step:.1f} s")
    if analyze:
        step = time.perf_counter()
        with connection.cursor() as cursor:
            for table in (
                "sla_clock",
                "sla_clockevent",
                "sla_attainmentrollup",
                "incidents_incident",
            ):
                cursor.execute(f"ANALYZE {table}")
        log(f"analyze: {time.perf_counter() - step:.1f} s")
    log(f"SLA volume: {result} in {time.perf_counter() - started:.1f} s")
    return result


def sla_volume_seed_from_options(options: dict) -> dict[str, int]:
    """seed_volume entry point: --clocks and --closed-clocks."""
    return sla_volume_seed(
        clocks=options.get("clocks") or 0,
        closed_clocks=options.get("closed_clocks") or 0,
        seed=options.get("seed", 1) + 4,
        log=print,
    )
