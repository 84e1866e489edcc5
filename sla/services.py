"""Write side of SLA clocks (ISO/IEC 20000-1:2018 8.3.3): which target applies to a
record, and the clocks that measure it.

Process services (incidents now; requests, problems and changes later) call the
`sla_record_*` functions inside their own transaction, after they changed the record.
The record tells what targets match on through its `sla_facts()` method. Nothing here
loops over open records: the beat tick (`clock_tick`) reads only the narrow rows of
thresholds to come (ClockDue) whose `due_at` has passed and marks them by deleting them;
the events and the breach of what it marked follow through the outbox (topic sla.fired,
`clock_fired_handler`, queue "sla"), their escalations through another message (topic
sla.escalate, `clock_escalate_handler`, default queue).

The matching rule (documented for users in the README): for each agreement kind (SLA,
OLA, underpinning contract) and each metric (first response, resolution), among the
active targets of agreements valid on the day whose conditions all hold for the record,
the most specific wins (the number of conditions it names: record type, priorities,
services, organisations, categories, and the agreement's services and its customers or
groups); a tie goes to the shortest duration, then to the oldest target. The clock keeps
the candidates and the reason in `match_reason`.
"""

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone
from django.utils.module_loading import import_string

from core.config_cache import ConfigCache
from core.db import inserted
from core.outbox import outbox_enqueue, outbox_kick_on_commit

from .business_time import CalendarSpec, business_add, business_time
from .calendars import calendar_spec_get
from .choices import (
    LIVE_CLOCK_STATES,
    AgreementKind,
    AgreementStatus,
    ClockEventKind,
    ClockState,
    Metric,
)
from .models import BusinessCalendar, Clock, ClockDue, ClockEvent, Target

TIME_METRICS = (Metric.RESPONSE, Metric.RESOLUTION)
ZERO = timedelta(0)
MATCH_RULE = "most specific, then shortest duration, then oldest target"


@dataclass(frozen=True)
class Candidate:
    """A target as the matching rule sees it (one query loads them all)."""

    target_id: int
    name: str
    agreement_id: int
    agreement_name: str
    kind: str
    metric: str
    record_type: str
    priorities: frozenset[int]
    services: frozenset[int]
    organisations: frozenset[int]
    categories: frozenset[int]
    agreement_services: frozenset[int]
    agreement_organisations: frozenset[int]
    agreement_groups: frozenset[int]
    duration: timedelta
    calendar_id: int
    calendar_version: int
    valid_from: date
    valid_to: date | None
    thresholds: tuple[int, ...] = field(default=())
    pause_on: frozenset[str] = field(default=frozenset())

    def conditions(self) -> list[tuple[str, frozenset | str]]:
        """The conditions this target names, as (fact, allowed values)."""
        named = [
            ("record_type", self.record_type),
            ("priority", self.priorities),
            ("service", self.services),
            ("organisation", self.organisations),
            ("category", self.categories),
            ("agreement_service", self.agreement_services),
        ]
        if self.kind == AgreementKind.SLA:
            named.append(("agreement_organisation", self.agreement_organisations))
        if self.kind == AgreementKind.OLA:
            named.append(("agreement_group", self.agreement_groups))
        return [(name, values) for name, values in named if values]

    def matches(self, record_type: str, facts: dict[str, Any], on: date) -> bool:
        if self.valid_from > on or (self.valid_to is not None and self.valid_to < on):
            return False
        categories = set(facts.get("category_ids") or ())
        for name, values in self.conditions():
            if name == "record_type":
                ok = values == record_type
            elif name == "priority":
                ok = facts.get("priority") in values
            elif name in ("service", "agreement_service"):
                ok = facts.get("service_id") in values
            elif name in ("organisation", "agreement_organisation"):
                ok = facts.get("organisation_id") in values
            elif name == "category":
                ok = bool(categories & values)
            else:
                ok = facts.get("support_group_id") in values
            if not ok:
                return False
        return True

    def sort_key(self) -> tuple:
        return (-len(self.conditions()), self.duration, self.target_id)


# The active time targets of active agreements with their conditions, in one statement
# written out (the ORM's six array subqueries cost more to compile than to run; this runs
# on every record created).
_CANDIDATES_SQL = """
SELECT t.id, t.name, t.agreement_id, a.name, a.kind, a.valid_from, a.valid_to, t.metric,
       t.record_type, t.priorities, t.duration, t.calendar_id, cal.version, t.thresholds,
       t.pause_on,
       ARRAY(SELECT configurationitem_id FROM sla_target_services WHERE target_id = t.id),
       ARRAY(SELECT organisation_id FROM sla_target_organisations WHERE target_id = t.id),
       ARRAY(SELECT category_id FROM sla_target_categories WHERE target_id = t.id),
       ARRAY(SELECT configurationitem_id FROM sla_agreement_services
             WHERE agreement_id = t.agreement_id),
       ARRAY(SELECT organisation_id FROM sla_agreement_organisations
             WHERE agreement_id = t.agreement_id),
       ARRAY(SELECT supportgroup_id FROM sla_agreement_support_groups
             WHERE agreement_id = t.agreement_id)
FROM sla_target t
JOIN sla_agreement a ON a.id = t.agreement_id
JOIN sla_businesscalendar cal ON cal.id = t.calendar_id
WHERE t.is_active AND t.metric = ANY(%(metrics)s) AND a.status = %(status)s
  AND t.duration IS NOT NULL
"""


def target_candidates(*, metrics: Iterable[str] = TIME_METRICS) -> list[Candidate]:
    """The active time targets of active agreements, with their conditions (one query)."""
    with connection.cursor() as cursor:
        cursor.execute(
            _CANDIDATES_SQL,
            {"metrics": [str(m) for m in metrics], "status": str(AgreementStatus.ACTIVE)},
        )
        rows = cursor.fetchall()
    return [
        Candidate(
            target_id=target_id,
            name=name,
            agreement_id=agreement_id,
            agreement_name=agreement_name,
            kind=kind,
            metric=metric,
            record_type=record_type,
            priorities=frozenset(priorities),
            services=frozenset(services),
            organisations=frozenset(organisations),
            categories=frozenset(categories),
            agreement_services=frozenset(agreement_services),
            agreement_organisations=frozenset(agreement_organisations),
            agreement_groups=frozenset(agreement_groups),
            duration=duration,
            calendar_id=calendar_id,
            calendar_version=calendar_version,
            valid_from=valid_from,
            valid_to=valid_to,
            thresholds=tuple(sorted(set(thresholds))),
            pause_on=frozenset(pause_on),
        )
        for (
            target_id,
            name,
            agreement_id,
            agreement_name,
            kind,
            valid_from,
            valid_to,
            metric,
            record_type,
            priorities,
            duration,
            calendar_id,
            calendar_version,
            thresholds,
            pause_on,
            services,
            organisations,
            categories,
            agreement_services,
            agreement_organisations,
            agreement_groups,
        ) in rows
    ]


@dataclass(frozen=True)
class Matching:
    """What matching reads on every record written: the candidates of the time metrics and
    the specs of their calendars."""

    candidates: tuple[Candidate, ...]
    specs: dict[int, CalendarSpec]


def _matching_load() -> Matching:
    candidates = tuple(target_candidates())
    specs = _Specs()
    for candidate in candidates:
        specs.known(candidate.calendar_id, candidate.calendar_version)
    # A plain dict: a lookup in the shared copy must not fetch into it.
    return Matching(candidates=candidates, specs=dict(specs))


# Kept per process and checked against the `sla` configuration version on each use: every
# write to an agreement, target or calendar table moves it (sla migration 0007). A process
# service that reads another area too reads both versions at once (core.configs_get).
MATCHING = ConfigCache("sla", _matching_load)


def record_type_of(record: Any) -> str:
    return f"{record._meta.app_label}.{record._meta.model_name}"


def target_match(
    *,
    record: Any,
    facts: dict[str, Any] | None = None,
    on: date | None = None,
    matching: Matching | None = None,
) -> dict[tuple[str, str], tuple[Candidate, dict[str, Any]]]:
    """The target that applies per (agreement kind, metric), with the reason (see the
    module docstring for the rule)."""
    facts = facts if facts is not None else record.sla_facts()
    record_type = record_type_of(record)
    on = on or timezone.localdate()
    matching = matching or MATCHING.get()
    picked: dict[tuple[str, str], list[Candidate]] = {}
    for candidate in matching.candidates:
        if candidate.matches(record_type, facts, on):
            picked.setdefault((candidate.kind, candidate.metric), []).append(candidate)
    result = {}
    for key, candidates in picked.items():
        candidates.sort(key=Candidate.sort_key)
        winner = candidates[0]
        result[key] = (
            winner,
            {
                "rule": MATCH_RULE,
                "target": winner.target_id,
                "target_name": winner.name,
                "agreement": winner.agreement_name,
                "conditions": [name for name, _values in winner.conditions()],
                "candidates": [c.target_id for c in candidates],
                "facts": {
                    "priority": facts.get("priority"),
                    "service": facts.get("service_id"),
                    "organisation": facts.get("organisation_id"),
                    "support_group": facts.get("support_group_id"),
                    "categories": sorted(facts.get("category_ids") or ()),
                },
            },
        )
    return result


# --- clock arithmetic ------------------------------------------------------------------


class _Specs(dict):
    """Calendar specs, fetched once per service call (from the shared cache), or seeded
    with the ones the matching snapshot holds."""

    def __missing__(self, calendar_id: int) -> CalendarSpec:
        spec = calendar_spec_get(calendar_id=calendar_id)
        self[calendar_id] = spec
        return spec

    def known(self, calendar_id: int, version: int) -> CalendarSpec:
        if calendar_id not in self:
            self[calendar_id] = calendar_spec_get(calendar_id=calendar_id, version=version)
        return self[calendar_id]


def clock_elapsed(clock: Clock, spec: CalendarSpec, now: datetime) -> timedelta:
    """Business time the clock has counted up to `now`."""
    if clock.state == ClockState.RUNNING and clock.segment_started_at is not None:
        return clock.elapsed + business_time(spec, clock.segment_started_at, now)
    return clock.elapsed


def _due_moments(
    clock: Clock, spec: CalendarSpec, now: datetime, percents: list[int]
) -> list[tuple[int, datetime]]:
    """(threshold, wall-clock moment it fires) of each threshold still to fire of a running
    clock; none for a paused or stopped clock. Sets the clock's deadline_at (a paused
    clock has none)."""
    if clock.state != ClockState.RUNNING:
        if clock.state == ClockState.PAUSED:
            clock.deadline_at = None
        return []
    cursor, reached = now, clock_elapsed(clock, spec, now)
    moments = []
    for percent in percents:
        goal = clock.target_duration * percent / 100
        if goal > reached:
            cursor = business_add(spec, cursor, goal - reached)
            reached = goal
        moments.append((percent, cursor))
    if 100 in percents:
        clock.deadline_at = moments[percents.index(100)][1]
    return moments


def _schedule(
    clock: Clock, spec: CalendarSpec, now: datetime, percents: list[int] | None = None
) -> None:
    """Replace the clock's due rows (none unless it runs); `percents` defaults to the
    thresholds of its target not fired yet."""
    if clock.state == ClockState.RUNNING and percents is None:
        percents = _pending_percents(clock)
    dues = [
        ClockDue(clock=clock, percent=percent, due_at=moment)
        for percent, moment in _due_moments(clock, spec, now, percents or [])
    ]
    ClockDue.objects.filter(clock_id=clock.pk).delete()
    ClockDue.objects.bulk_create(dues)


def _pending_percents(clock: Clock, thresholds: Iterable[int] | None = None) -> list[int]:
    """Thresholds of the clock not fired yet (from its events); the breach stays pending
    while the clock has no breach (a breach withdrawn by a recompute can fire again)."""
    if thresholds is None:
        thresholds = Target.objects.filter(pk=clock.target_id).values_list("thresholds", flat=True)[
            0
        ]
    fired = set(
        clock.events.filter(kind__in=[ClockEventKind.WARNING, ClockEventKind.BREACHED])
        .exclude(percent__isnull=True)
        .values_list("percent", flat=True)
    )
    percents = _percents(thresholds, fired)
    if clock.breached_at is None and 100 not in percents:
        percents.append(100)
    return percents


def _percents(candidate_thresholds: Iterable[int], fired: set[int]) -> list[int]:
    return [p for p in sorted({*candidate_thresholds, 100}) if p not in fired]


def _event(
    clock: Clock,
    kind: str,
    at: datetime,
    *,
    actor: Any = None,
    reason: str = "",
    elapsed: timedelta | None = None,
    **data: Any,
) -> ClockEvent:
    return ClockEvent.objects.create(
        clock=clock,
        kind=kind,
        occurred_at=at,
        elapsed=clock.elapsed if elapsed is None else elapsed,
        reason=reason[:200],
        actor=actor if getattr(actor, "pk", None) else None,
        data=data,
    )


def _facts_apply(clock: Clock, facts: dict[str, Any]) -> list[str]:
    changed = []
    for attr, key in (
        ("service_id", "service_id"),
        ("organisation_id", "organisation_id"),
        ("support_group_id", "support_group_id"),
        ("priority", "priority"),
    ):
        if getattr(clock, attr) != facts.get(key):
            setattr(clock, attr, facts.get(key))
            changed.append(attr)
    return changed


def _month(moment: datetime) -> date:
    local = timezone.localtime(moment, timezone.get_default_timezone())
    return local.date().replace(day=1)


def _rollup(clock: Clock, record_type: str, sign: int) -> None:
    """Count a stopped clock in the monthly attainment rollup (sign -1 takes it back)."""
    met = 1 if clock.state == ClockState.MET else 0
    breached = 1 if clock.state == ClockState.BREACHED else 0
    key = [
        _month(clock.stopped_at),
        clock.target_id,
        record_type,
        clock.service_id,
        clock.organisation_id,
        clock.support_group_id,
        clock.priority,
    ]
    with connection.cursor() as cursor:
        if sign > 0:
            cursor.execute(
                """
                INSERT INTO sla_attainmentrollup AS r
                    (month, target_id, record_type, service_id, organisation_id,
                     support_group_id, priority, kind, metric, met, breached, elapsed_total)
                VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
                ON CONFLICT (month, target_id, record_type, service_id, organisation_id,
                             support_group_id, priority)
                DO UPDATE SET met = r.met + EXCLUDED.met,
                              breached = r.breached + EXCLUDED.breached,
                              elapsed_total = r.elapsed_total + EXCLUDED.elapsed_total
                """,
                [*key, clock.kind, clock.metric, met, breached, clock.elapsed],
            )
        else:
            cursor.execute(
                """
                UPDATE sla_attainmentrollup
                SET met = met - %s, breached = breached - %s, elapsed_total = elapsed_total - %s
                WHERE month = %s AND target_id = %s AND record_type = %s
                  AND service_id IS NOT DISTINCT FROM %s
                  AND organisation_id IS NOT DISTINCT FROM %s
                  AND support_group_id IS NOT DISTINCT FROM %s
                  AND priority IS NOT DISTINCT FROM %s
                """,
                [met, breached, clock.elapsed, *key],
            )


def _record_due_update(record: Any) -> None:
    """Keep the record's sla_due_at (nearest breach of a running clock) current."""
    due = (
        Clock.objects.filter(
            content_type=ContentType.objects.get_for_model(record),
            object_id=record.pk,
            state=ClockState.RUNNING,
            deadline_at__isnull=False,
        )
        .order_by("deadline_at")
        .values_list("deadline_at", flat=True)
        .first()
    )
    _record_due_set(record, due)


def _records_due_refresh(content_type_id: int, ids: Iterable[int]) -> None:
    """The sla_due_at of many records of one type, in one UPDATE (after a batch)."""
    nearest = (
        Clock.objects.filter(
            content_type_id=content_type_id,
            object_id=OuterRef("pk"),
            state=ClockState.RUNNING,
            deadline_at__isnull=False,
        )
        .order_by("deadline_at")
        .values("deadline_at")[:1]
    )
    model = ContentType.objects.get_for_id(content_type_id).model_class()
    model.objects.filter(pk__in=list(ids)).update(sla_due_at=Subquery(nearest))


def _record_due_set(record: Any, due: datetime | None) -> None:
    if getattr(record, "sla_due_at", None) != due:
        type(record).objects.filter(pk=record.pk).update(sla_due_at=due)
        record.sla_due_at = due


def _live_clocks(record: Any) -> list[Clock]:
    return list(
        Clock.objects.select_for_update()
        .filter(
            content_type=ContentType.objects.get_for_model(record),
            object_id=record.pk,
            state__in=LIVE_CLOCK_STATES,
        )
        .order_by("pk")
    )


@dataclass
class ClockPlan:
    """The clocks a record starts, matched and scheduled but not written yet."""

    at: datetime
    picks: list[tuple[Candidate, dict[str, Any]]]
    facts: dict[str, Any]
    clocks: list[Clock]
    dues: list[tuple[int, int, datetime]]  # (target, threshold, moment): rows to insert
    specs: _Specs

    @property
    def due_at(self) -> datetime | None:
        """The nearest breach among the planned running clocks (the record's sla_due_at)."""
        return min(
            (c.deadline_at for c in self.clocks if c.state == ClockState.RUNNING and c.deadline_at),
            default=None,
        )


def _clocks_plan(
    record: Any,
    picks: list[tuple[Candidate, dict[str, Any]]],
    facts: dict[str, Any],
    at: datetime,
    specs: _Specs,
) -> ClockPlan:
    """One running clock per picked target with its due rows, unsaved; the record needs no
    primary key yet."""
    content_type = ContentType.objects.get_for_model(record)
    clocks = []
    dues = []
    for candidate, reason in picks:
        clock = Clock(
            content_type=content_type,
            target_id=candidate.target_id,
            calendar_id=candidate.calendar_id,
            kind=candidate.kind,
            metric=candidate.metric,
            state=ClockState.RUNNING,
            target_duration=candidate.duration,
            started_at=at,
            elapsed=ZERO,
            segment_started_at=at,
            match_reason=reason,
        )
        _facts_apply(clock, facts)
        spec = specs.known(candidate.calendar_id, candidate.calendar_version)
        percents = _percents(candidate.thresholds, set())
        dues += [
            (candidate.target_id, percent, moment)
            for percent, moment in _due_moments(clock, spec, at, percents)
        ]
        clocks.append(clock)
    return ClockPlan(at=at, picks=picks, facts=facts, clocks=clocks, dues=dues, specs=specs)


def _clocks_begin(record: Any, plan: ClockPlan, actor: Any) -> list[Clock]:
    """Write a plan's clocks for the (saved) record: one statement whatever their number;
    a clock whose target pauses for the record's pending reason is paused at once."""
    if not plan.clocks:
        return []
    for clock in plan.clocks:
        clock.object_id = record.pk
    _clocks_insert(plan.clocks, plan.dues, plan.at, actor)
    pause_reason = plan.facts.get("pause_reason")
    if pause_reason:
        for clock, (candidate, _reason) in zip(plan.clocks, plan.picks, strict=True):
            if pause_reason in candidate.pause_on:
                _clock_pause(clock, pause_reason, plan.at, actor, plan.specs)
    return plan.clocks


def _clocks_start(
    record: Any,
    picks: list[tuple[Candidate, dict[str, Any]]],
    facts: dict[str, Any],
    at: datetime,
    actor: Any,
    specs: _Specs,
) -> list[Clock]:
    """Start one clock per picked target."""
    return _clocks_begin(record, _clocks_plan(record, picks, facts, at, specs), actor)


# A record's new clocks, their due rows and their "started" events in one statement (it
# runs for every record created: three ORM bulk inserts cost more to build than to run).
# The clocks of one start have distinct targets, which ties the due rows to their clock.
_CLOCKS_INSERT_SQL = """
WITH clocks AS (
    INSERT INTO sla_clock (
        content_type_id, object_id, target_id, calendar_id, kind, metric, state,
        target_duration, started_at, elapsed, segment_started_at, pause_reason, deadline_at,
        match_reason, priority, service_id, organisation_id, support_group_id, version,
        updated_at)
    SELECT %(content_type)s, %(object)s, n.target_id, n.calendar_id, n.kind, n.metric,
           %(state)s, n.target_duration, %(at)s, interval '0', %(at)s, '', n.deadline_at,
           n.match_reason, %(priority)s, %(service)s, %(organisation)s, %(group)s, 1,
           statement_timestamp()
    FROM unnest(%(targets)s::bigint[], %(calendars)s::bigint[], %(kinds)s::text[],
                %(metrics)s::text[], %(durations)s::interval[], %(deadlines)s::timestamptz[],
                %(reasons)s::jsonb[])
         AS n(target_id, calendar_id, kind, metric, target_duration, deadline_at,
              match_reason)
    RETURNING id, target_id, calendar_id, updated_at
),
dues AS (
    INSERT INTO sla_clockdue (clock_id, percent, due_at)
    SELECT clocks.id, d.percent, d.due_at
    FROM unnest(%(due_targets)s::bigint[], %(due_percents)s::smallint[],
                %(due_moments)s::timestamptz[]) AS d(target_id, percent, due_at)
    JOIN clocks ON clocks.target_id = d.target_id
),
events AS (
    INSERT INTO sla_clockevent
        (clock_id, kind, occurred_at, percent, elapsed, reason, actor_id, data, handled_at)
    SELECT id, %(started)s, %(at)s, NULL, interval '0', 'record started', %(actor)s,
           jsonb_build_object('target', target_id, 'calendar', calendar_id), NULL
    FROM clocks
)
SELECT id, target_id, updated_at FROM clocks
"""


def _clocks_insert(
    clocks: list[Clock], dues: list[tuple[int, int, datetime]], at: datetime, actor: Any
) -> None:
    """Insert new running clocks of one record with their due rows and started events;
    sets their primary keys as bulk_create would."""
    first = clocks[0]
    with connection.cursor() as cursor:
        cursor.execute(
            _CLOCKS_INSERT_SQL,
            {
                "content_type": first.content_type_id,
                "object": first.object_id,
                "state": ClockState.RUNNING.value,
                "at": at,
                "priority": first.priority,
                "service": first.service_id,
                "organisation": first.organisation_id,
                "group": first.support_group_id,
                "targets": [c.target_id for c in clocks],
                "calendars": [c.calendar_id for c in clocks],
                "kinds": [c.kind for c in clocks],
                "metrics": [c.metric for c in clocks],
                "durations": [c.target_duration for c in clocks],
                "deadlines": [c.deadline_at for c in clocks],
                "reasons": [json.dumps(c.match_reason) for c in clocks],
                "due_targets": [target for target, _percent, _moment in dues],
                "due_percents": [percent for _target, percent, _moment in dues],
                "due_moments": [moment for _target, _percent, moment in dues],
                "started": ClockEventKind.STARTED.value,
                "actor": actor.pk if getattr(actor, "pk", None) else None,
            },
        )
        written = {target_id: (pk, updated_at) for pk, target_id, updated_at in cursor.fetchall()}
    for clock in clocks:
        pk, clock.updated_at = written[clock.target_id]
        inserted(clock, pk)


def _clock_pause(clock: Clock, reason: str, at: datetime, actor: Any, specs: _Specs) -> None:
    spec = specs[clock.calendar_id]
    clock.elapsed = clock_elapsed(clock, spec, at)
    clock.state = ClockState.PAUSED
    clock.segment_started_at = None
    clock.paused_at = at
    clock.pause_reason = reason
    _schedule(clock, spec, at)
    clock.version += 1
    clock.save()
    _event(clock, ClockEventKind.PAUSED, at, actor=actor, reason=reason)


def _clock_resume(clock: Clock, at: datetime, actor: Any, specs: _Specs, reason: str) -> None:
    clock.state = ClockState.RUNNING
    clock.segment_started_at = at
    clock.paused_at = None
    clock.pause_reason = ""
    _schedule(clock, specs[clock.calendar_id], at)
    clock.version += 1
    clock.save()
    _event(clock, ClockEventKind.RESUMED, at, actor=actor, reason=reason)


def _clock_stop(
    clock: Clock, record_type: str, at: datetime, actor: Any, specs: _Specs, reason: str
) -> None:
    spec = specs[clock.calendar_id]
    clock.elapsed = clock_elapsed(clock, spec, at)
    clock.segment_started_at = None
    clock.stopped_at = at
    if clock.elapsed > clock.target_duration:
        clock.state = ClockState.BREACHED
        if clock.breached_at is None:
            # The tick had not come round yet: the breach happened at the deadline.
            clock.breached_at = clock.deadline_at or at
    else:
        clock.state = ClockState.MET
    ClockDue.objects.filter(clock_id=clock.pk).delete()
    clock.version += 1
    clock.save()
    kind = ClockEventKind.MET if clock.state == ClockState.MET else ClockEventKind.MISSED
    _event(clock, kind, at, actor=actor, reason=reason)
    _rollup(clock, record_type, +1)


def _clock_cancel(clock: Clock, at: datetime, actor: Any, specs: _Specs, reason: str) -> None:
    clock.elapsed = clock_elapsed(clock, specs[clock.calendar_id], at)
    clock.state = ClockState.CANCELLED
    clock.segment_started_at = None
    clock.stopped_at = at
    ClockDue.objects.filter(clock_id=clock.pk).delete()
    clock.version += 1
    clock.save()
    _event(clock, ClockEventKind.CANCELLED, at, actor=actor, reason=reason)


def clock_replay(clock: Clock, spec: CalendarSpec) -> tuple[timedelta, datetime | None]:
    """Elapsed business time of the clock's closed running segments, and the start of the
    open one, recomputed from its event history with `spec` (what an auditor does)."""
    elapsed = ZERO
    running_since = None
    stops = (
        ClockEventKind.PAUSED,
        ClockEventKind.MET,
        ClockEventKind.MISSED,
        ClockEventKind.CANCELLED,
    )
    for event in clock.events.order_by("occurred_at", "pk"):
        if event.kind in (ClockEventKind.STARTED, ClockEventKind.RESUMED):
            running_since = running_since or event.occurred_at
        elif event.kind in stops and running_since is not None:
            elapsed += business_time(spec, running_since, event.occurred_at)
            running_since = None
    return elapsed, running_since


def _clock_recompute(
    clock: Clock,
    now: datetime,
    actor: Any,
    specs: _Specs,
    reason: str,
    candidate: Candidate | None = None,
    match_reason: dict[str, Any] | None = None,
    target: Target | None = None,
) -> None:
    """Recompute a live clock from its history, after its target or calendar changed
    (`candidate`: a new target picked by the matching rule; else its own, as now saved,
    passed in as `target` or read here)."""
    before = {
        "target": clock.target_id,
        "calendar": clock.calendar_id,
        "duration": clock.target_duration.total_seconds(),
        "elapsed": clock.elapsed.total_seconds(),
        "deadline_at": clock.deadline_at.isoformat() if clock.deadline_at else None,
    }
    if candidate is not None:
        clock.target_id = candidate.target_id
        clock.calendar_id = candidate.calendar_id
        clock.target_duration = candidate.duration
        clock.match_reason = match_reason or {}
        thresholds = candidate.thresholds
    else:
        target = target or Target.objects.get(pk=clock.target_id)
        clock.calendar_id = target.calendar_id or clock.calendar_id
        clock.target_duration = target.duration or clock.target_duration
        thresholds = target.thresholds
    spec = specs[clock.calendar_id]
    clock.elapsed, running_since = clock_replay(clock, spec)
    if clock.state == ClockState.RUNNING:
        clock.segment_started_at = running_since or clock.segment_started_at
    elapsed_now = clock_elapsed(clock, spec, now)
    # Thresholds already behind under the new target and already fired stay fired; a
    # breach the new target no longer sees is withdrawn (the event history keeps it)
    # and pending again.
    if elapsed_now <= clock.target_duration and clock.breached_at is not None:
        clock.breached_at = None
    _schedule(clock, spec, now, _pending_percents(clock, thresholds))
    clock.version += 1
    clock.save()
    _event(
        clock,
        ClockEventKind.RECOMPUTED,
        now,
        actor=actor,
        reason=reason,
        before=before,
        after={
            "target": clock.target_id,
            "calendar": clock.calendar_id,
            "duration": clock.target_duration.total_seconds(),
            "elapsed": clock.elapsed.total_seconds(),
            "deadline_at": clock.deadline_at.isoformat() if clock.deadline_at else None,
        },
    )


# --- what process services call ----------------------------------------------------------


def sla_record_plan(
    *, record: Any, at: datetime | None = None, matching: Matching | None = None
) -> ClockPlan:
    """The clocks a new record will start (response and resolution, one per agreement
    kind), matched and scheduled from its facts before it is written: a process service
    stores `plan.due_at` as the record's sla_due_at in its INSERT, then passes the plan to
    `sla_record_start`. `matching`: from `MATCHING` when the caller read it already."""
    at = at or timezone.now()
    facts = record.sla_facts()
    matching = matching or MATCHING.get()
    matched = target_match(record=record, facts=facts, matching=matching)
    picks = [pick for _key, pick in sorted(matched.items())]
    return _clocks_plan(record, picks, facts, at, _Specs(matching.specs))


def sla_record_start(
    *, record: Any, actor: Any, at: datetime | None = None, plan: ClockPlan | None = None
) -> list[Clock]:
    """Start the clocks of the targets that apply to a new record, as planned by
    `sla_record_plan` (planned here at `at` when no plan is given)."""
    plan = plan or sla_record_plan(record=record, at=at)
    clocks = _clocks_begin(record, plan, actor)
    _record_due_set(record, plan.due_at)  # no write when the INSERT carried it
    return clocks


def sla_record_update(
    *, record: Any, actor: Any, at: datetime | None = None, reason: str = "record changed"
) -> None:
    """Re-apply the matching rule after a change of priority, service, organisation,
    category or group: a clock whose target changes is recomputed from its history; a
    clock no target applies to any more is cancelled; a newly matching target starts a
    clock now (unless the record is already past that metric)."""
    at = at or timezone.now()
    facts = record.sla_facts()
    matching = MATCHING.get()
    specs = _Specs(matching.specs)
    matched = target_match(record=record, facts=facts, matching=matching)
    live = {(c.kind, c.metric): c for c in _live_clocks(record)}
    for key, clock in live.items():
        if key not in matched:
            _clock_cancel(clock, at, actor, specs, "no target applies any more")
            continue
        candidate, match_reason = matched[key]
        changed = _facts_apply(clock, facts)
        if candidate.target_id != clock.target_id:
            _clock_recompute(clock, at, actor, specs, reason, candidate, match_reason)
        elif changed:
            clock.save(update_fields=[*changed, "updated_at"])
    content_type = ContentType.objects.get_for_model(record)
    stopped = set(
        Clock.objects.filter(content_type=content_type, object_id=record.pk)
        .exclude(state__in=LIVE_CLOCK_STATES)
        .values_list("kind", "metric")
    )
    for key, (candidate, match_reason) in sorted(matched.items()):
        if key in live or key in stopped:
            continue
        if candidate.metric == Metric.RESPONSE and facts.get("is_responded"):
            continue
        if facts.get("is_resolved"):
            continue
        _clocks_start(record, [(candidate, match_reason)], facts, at, actor, specs)
    _record_due_update(record)


def sla_record_pause(*, record: Any, reason: str, actor: Any, at: datetime | None = None) -> None:
    """The record waits (on the customer, a vendor, a change): clocks whose target pauses
    for that reason stop counting."""
    at = at or timezone.now()
    specs = _Specs()
    clocks = _live_clocks(record)
    pause_on = dict(
        Target.objects.filter(pk__in=[c.target_id for c in clocks]).values_list("pk", "pause_on")
    )
    for clock in clocks:
        if clock.state == ClockState.RUNNING and reason in pause_on.get(clock.target_id, []):
            _clock_pause(clock, reason, at, actor, specs)
    _record_due_update(record)


def sla_record_resume(*, record: Any, actor: Any, at: datetime | None = None) -> None:
    """The record no longer waits: paused clocks run again."""
    at = at or timezone.now()
    specs = _Specs()
    for clock in _live_clocks(record):
        if clock.state == ClockState.PAUSED:
            _clock_resume(clock, at, actor, specs, "record resumed")
    _record_due_update(record)


def _stop(record: Any, metrics: tuple[str, ...], actor: Any, at: datetime, reason: str) -> None:
    specs = _Specs()
    record_type = record_type_of(record)
    facts = record.sla_facts()
    for clock in _live_clocks(record):
        if clock.metric in metrics:
            _facts_apply(clock, facts)
            _clock_stop(clock, record_type, at, actor, specs, reason)
    _record_due_update(record)


def sla_record_respond(*, record: Any, actor: Any, at: datetime | None = None) -> None:
    """The first response was given: response clocks stop (met or breached)."""
    _stop(record, (Metric.RESPONSE,), actor, at or timezone.now(), "first response")


def sla_record_resolve(*, record: Any, actor: Any, at: datetime | None = None) -> None:
    """The record is resolved: resolution clocks stop, and response clocks still running
    stop too (resolving is a response)."""
    _stop(record, TIME_METRICS, actor, at or timezone.now(), "resolved")


def sla_record_reopen(*, record: Any, actor: Any, at: datetime | None = None) -> None:
    """A resolved record is reopened: its resolution clocks run on from where they
    stopped (the time while resolved does not count) and leave the attainment figures
    until they stop again."""
    at = at or timezone.now()
    specs = _Specs()
    record_type = record_type_of(record)
    content_type = ContentType.objects.get_for_model(record)
    live = {(c.kind, c.metric) for c in _live_clocks(record)}
    stopped = (
        Clock.objects.select_for_update()
        .filter(
            content_type=content_type,
            object_id=record.pk,
            metric=Metric.RESOLUTION,
            state__in=[ClockState.MET, ClockState.BREACHED],
        )
        .order_by("kind", "-stopped_at", "-pk")
    )
    seen = set()
    for clock in stopped:
        if clock.kind in seen or (clock.kind, clock.metric) in live:
            continue
        seen.add(clock.kind)
        _rollup(clock, record_type, -1)
        clock.state = ClockState.RUNNING
        clock.stopped_at = None
        clock.segment_started_at = at
        clock.breached_at = clock.breached_at if clock.elapsed > clock.target_duration else None
        _schedule(clock, specs[clock.calendar_id], at)
        clock.version += 1
        clock.save()
        _event(clock, ClockEventKind.RESUMED, at, actor=actor, reason="reopened")
    _record_due_update(record)


def sla_record_cancel(*, record: Any, actor: Any, at: datetime | None = None) -> None:
    """The record is cancelled: its live clocks are cancelled (not counted as met or
    breached)."""
    at = at or timezone.now()
    specs = _Specs()
    for clock in _live_clocks(record):
        _clock_cancel(clock, at, actor, specs, "record cancelled")
    _record_due_update(record)


def clocks_recompute(
    *,
    calendar: BusinessCalendar | None = None,
    target: Target | None = None,
    batch: int = 500,
    now: datetime | None = None,
) -> int:
    """Recompute the live clocks of a calendar or target after it was edited, from their
    histories, in batches of short transactions; returns how many."""
    query = Q(state__in=LIVE_CLOCK_STATES)
    if calendar is not None:
        query &= Q(calendar=calendar)
    if target is not None:
        query &= Q(target=target)
    reason = "calendar changed" if calendar is not None else "target changed"
    done = 0
    last_pk = 0
    while True:
        with transaction.atomic():
            clocks = list(
                Clock.objects.select_for_update(skip_locked=True)
                .filter(query, pk__gt=last_pk)
                .order_by("pk")[:batch]
            )
            if not clocks:
                break
            specs = _Specs()
            moment = now or timezone.now()
            targets = Target.objects.in_bulk({clock.target_id for clock in clocks})
            records: dict[int, set[int]] = {}
            for clock in clocks:
                _clock_recompute(
                    clock, moment, None, specs, reason, target=targets[clock.target_id]
                )
                records.setdefault(clock.content_type_id, set()).add(clock.object_id)
            for content_type_id, ids in records.items():
                _records_due_refresh(content_type_id, ids)
            last_pk = clocks[-1].pk
            done += len(clocks)
    return done


# --- the tick ----------------------------------------------------------------------------

# Firings per outbox message: one delivery never holds a worker for long.
FIRED_CHUNK = 500

# One statement per batch: lock due rows (a row per clock and threshold), delete them and
# write the outbox messages announcing the firings (at most FIRED_CHUNK each), so the
# marking and its messages commit together: a message exists if and only if its
# thresholds left the table. A delete writes no index entry (an update of `due_at` would
# write a new row version and its index entries), and it finds the rows by their place
# (ctid, a TID scan: no index lookup), which cannot change while they are locked. The
# firings come from the deleted rows, never from the statement's snapshot. The dedup key
# only has to be unique (the statement cannot run twice for the same thresholds): a
# random part keeps two ticks in one transaction (a test, a nested call) apart.
_TICK_SQL = """
WITH due AS (
    SELECT ctid AS row_id FROM sla_clockdue
    WHERE due_at <= %(now)s
    ORDER BY due_at
    LIMIT %(batch)s
    FOR UPDATE SKIP LOCKED
),
marked AS (
    DELETE FROM sla_clockdue
    WHERE ctid = ANY (ARRAY(SELECT row_id FROM due))
    RETURNING clock_id, percent, due_at
),
numbered AS (
    SELECT clock_id, percent, due_at,
           (row_number() OVER (ORDER BY clock_id, percent) - 1) / %(chunk)s AS chunk
    FROM marked
),
outbox AS (
    INSERT INTO core_outboxmessage (topic, payload, dedup_key, created_at, attempts, last_error)
    SELECT 'sla.fired',
           jsonb_build_object(
               'marked_at', %(now)s::timestamptz,
               'firings', jsonb_agg(jsonb_build_array(clock_id, percent, due_at)
                                    ORDER BY clock_id, percent)),
           'sla.fired:' || txid_current() || ':' || min(clock_id) || ':' || gen_random_uuid(),
           statement_timestamp(), 0, ''
    FROM numbered GROUP BY chunk
    RETURNING id
)
SELECT (SELECT count(*) FROM numbered), (SELECT count(*) FROM outbox)
"""


# Most ticks find nothing due. This look reads the first entry of the due index (no
# transaction); the tick statement (planned each time: ~1 ms) runs only when something
# is due. min() is planned the same whatever the moment: an `EXISTS (... due_at <= $1)`
# given a generic plan (psycopg prepares statements a connection repeats) was a
# sequential scan of the whole table, 120 ms at 1M (bench/README.md, SLA). Being an
# index scan, it also marks the index entries of rows deleted by earlier ticks as dead,
# which a bitmap scan of the tick statement never does.
_DUE_PROBE_SQL = """
SELECT coalesce(min(due_at) <= %(now)s, false) FROM sla_clockdue
"""


def clock_tick(*, now: datetime | None = None, batch: int = 5000, max_batches: int = 1000) -> int:
    """Mark the warnings and breaches that have come due; returns the thresholds marked
    (one clock may have several, e.g. a warning and the breach).

    Marking only, one statement per batch of `batch` thresholds: it locks due rows
    (FOR UPDATE SKIP LOCKED, so ticks on several workers share the work), deletes them
    and writes outbox messages (topic sla.fired) listing them. The clock events, ticket
    events, the breach moment and the escalation actions are written by the handler of
    those messages (`clock_fired_handler`), idempotently. A worker killed mid-batch rolls
    its transaction back; the rows stay due.
    """
    now = now or timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(_DUE_PROBE_SQL, {"now": now})
        if not cursor.fetchone()[0]:
            return 0
    marked_total = 0
    for _ in range(max_batches):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(_TICK_SQL, {"now": now, "batch": batch, "chunk": FIRED_CHUNK})
            marked, messages = cursor.fetchone()
            if messages:
                outbox_kick_on_commit()
        marked_total += marked
        if marked < batch:
            break
    return marked_total


# Records what the tick marked: one ClockEvent per threshold (unique per clock, kind and
# threshold, so a repeated delivery records nothing twice) and a TicketEvent for each
# new one, sets the breach moment of breached clocks, and returns the ids of the events
# whose escalations have not run yet (new ones and those of an interrupted delivery), in
# the order they happened (a warning's actions run before the breach's reassign).
_FIRED_SQL = """
WITH f AS (
    SELECT (x->>0)::bigint AS clock_id, (x->>1)::int AS percent,
           (x->>2)::timestamptz AS moment,
           CASE WHEN (x->>1)::int = 100 THEN 'breached' ELSE 'warning' END AS kind
    FROM jsonb_array_elements(%(firings)s::jsonb) AS x
),
fc AS (
    SELECT f.*, c.content_type_id, c.object_id, c.target_duration, t.name AS target_name
    FROM f JOIN sla_clock c ON c.id = f.clock_id JOIN sla_target t ON t.id = c.target_id
),
events AS (
    INSERT INTO sla_clockevent
        (clock_id, kind, occurred_at, percent, elapsed, reason, data, handled_at)
    SELECT clock_id, kind, moment, percent, target_duration * percent / 100.0, '',
           jsonb_build_object('recorded_at', %(marked_at)s::timestamptz,
                              'written_at', clock_timestamp()), NULL
    FROM fc ORDER BY moment, percent, clock_id
    ON CONFLICT DO NOTHING
    RETURNING id, clock_id, kind, percent, occurred_at
),
ticket_events AS (
    INSERT INTO core_ticketevent (content_type_id, object_id, event_type, actor_id,
                                  occurred_at, data)
    SELECT fc.content_type_id, fc.object_id,
           CASE e.kind WHEN 'breached' THEN 'sla_breached' ELSE 'sla_warning' END,
           NULL, %(marked_at)s::timestamptz,
           jsonb_build_object('clock', e.clock_id, 'clock_event', e.id, 'target', fc.target_name,
                              'percent', e.percent, 'reached_at', e.occurred_at)
    FROM events e JOIN fc ON fc.clock_id = e.clock_id AND fc.percent = e.percent
),
breached AS (
    UPDATE sla_clock c SET breached_at = b.moment, version = c.version + 1,
                           updated_at = %(marked_at)s::timestamptz
    FROM (SELECT clock_id, min(moment) AS moment FROM f WHERE percent = 100
          GROUP BY clock_id) b
    WHERE b.clock_id = c.id AND c.breached_at IS NULL AND c.state <> 'met'
)
SELECT id FROM (
    SELECT id, occurred_at, percent FROM events
    UNION
    SELECT e.id, e.occurred_at, e.percent FROM sla_clockevent e
    JOIN f ON e.clock_id = f.clock_id AND e.kind = f.kind AND e.percent = f.percent
    WHERE e.handled_at IS NULL
) AS unhandled
ORDER BY occurred_at, percent, id
"""


def clock_fired_record(*, firings: list, marked_at: str) -> list[int]:
    """Record the firings [clock id, percent, moment] the tick marked at `marked_at`, in
    one transaction; returns the ids of their events still to escalate."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_FIRED_SQL, {"firings": json.dumps(firings), "marked_at": marked_at})
        return [row[0] for row in cursor.fetchall()]


def clock_fired_handler(message: Any) -> None:
    """Outbox handler of topic sla.fired (queue "sla"): record the firings and, in the same
    transaction, announce the escalations of their events (topic sla.escalate, default
    queue). Recording is one statement; escalations send notifications and change records,
    so they run apart and never hold back the next recording or tick. The announcement is
    keyed by this message: a repeated delivery announces nothing twice."""
    payload = message.payload
    with transaction.atomic():
        event_ids = clock_fired_record(
            firings=list(payload.get("firings", [])), marked_at=payload["marked_at"]
        )
        if event_ids:
            outbox_enqueue(
                topic="sla.escalate",
                payload={"event_ids": event_ids},
                dedup_key=f"sla.escalate:{message.pk}",
            )


def clock_escalate_handler(message: Any) -> None:
    """Outbox handler of topic sla.escalate: run the escalation actions of the events it
    lists (see `clock_events_escalate`)."""
    clock_events_escalate(event_ids=list(message.payload.get("event_ids", [])))


def _escalation_order(event_ids: list[int]) -> list[int]:
    """The unhandled events among `event_ids` plus the earlier unhandled warnings and
    breaches of the same clocks, in the order they happened. An earlier threshold of a
    clock may sit in another sla.escalate message still queued or running elsewhere;
    taking it first keeps a warning's actions before the breach's reassign."""
    latest: dict[int, tuple] = {}
    for clock_id, occurred_at, percent in ClockEvent.objects.filter(pk__in=event_ids).values_list(
        "clock_id", "occurred_at", "percent"
    ):
        latest[clock_id] = max(latest.get(clock_id, (occurred_at, percent)), (occurred_at, percent))
    pending = ClockEvent.objects.filter(
        clock_id__in=latest,
        kind__in=(ClockEventKind.WARNING, ClockEventKind.BREACHED),
        handled_at__isnull=True,
    ).values_list("occurred_at", "percent", "pk", "clock_id")
    return [
        pk
        for occurred_at, percent, pk, clock_id in sorted(pending)
        if (occurred_at, percent) <= latest[clock_id]
    ]


def clock_events_escalate(*, event_ids: list[int]) -> int:
    """Run the escalation actions of fired warnings and breaches; returns how many events
    were handled now. Each event is handled once: its row is locked and marked in the
    transaction that runs its record-changing actions (a second worker on the same event
    waits for that transaction, then finds it handled, so it cannot overtake it with a
    later threshold); notifications are idempotent by their dedup key, so a delivery
    retried after a crash notifies nobody twice."""
    from .escalations import (
        escalation_actions,
        escalation_notify,
        escalation_record,
        escalation_record_actions,
    )

    handled = 0
    for event_id in _escalation_order(event_ids):
        event = (
            ClockEvent.objects.select_related("clock", "clock__target")
            .filter(pk=event_id, handled_at__isnull=True)
            .first()
        )
        if event is None:
            continue
        record = escalation_record(event=event)
        actions = escalation_actions(event=event)
        escalation_notify(event=event, record=record, actions=actions)
        with transaction.atomic():
            locked = (
                ClockEvent.objects.select_for_update()
                .filter(pk=event_id, handled_at__isnull=True)
                .first()
            )
            if locked is None:
                continue
            escalation_record_actions(event=event, record=record, actions=actions)
            ClockEvent.objects.filter(pk=event_id).update(handled_at=timezone.now())
            handled += 1
    return handled


def record_escalate_service(record: Any):
    """The process service that raises a record's priority or reassigns it."""
    return import_string(type(record).SLA_ESCALATE_SERVICE)
