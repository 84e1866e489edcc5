"""SLA clocks: matching, start, pause/resume, stop, reopen, retargeting, the tick and the
escalations (issue 5), against the real database."""

import datetime as dt
from zoneinfo import ZoneInfo

import psycopg
import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.models import OutboxMessage, TicketEvent
from incidents.choices import PendingReason
from incidents.models import Incident
from incidents.services import (
    incident_assign,
    incident_comment,
    incident_create,
    incident_pend,
    incident_reject_resolution,
    incident_resolve,
    incident_start,
    incident_update,
)
from notifications.models import Notification
from sla import services as sla
from sla.calendars import calendar_changed
from sla.choices import (
    AgreementKind,
    ClockEventKind,
    ClockState,
    EscalationActionKind,
    Metric,
    PauseReason,
)
from sla.models import AttainmentRollup, Clock, ClockEvent
from tests.factories import SupportGroupFactory, UserFactory
from tests.incidents.factories import IncidentFactory
from tests.processes import worker_database_url
from tests.sla.factories import (
    AgreementFactory,
    BusinessCalendarFactory,
    EscalationActionFactory,
    TargetFactory,
    office_hours_calendar,
)
from tests.sla.fired import dues_of, escalations_deliver, fired_deliver, tick

BERLIN = ZoneInfo("Europe/Berlin")
H = dt.timedelta(hours=1)


def berlin(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=BERLIN)


def clocks_of(record) -> list[Clock]:
    return list(
        Clock.objects.filter(
            content_type=ContentType.objects.get_for_model(record), object_id=record.pk
        ).order_by("kind", "-metric", "pk")
    )


@pytest.fixture
def sla_24x7(db):
    """An SLA: response in 1 h and resolution in 4 h for priority 3, around the clock;
    resolution in 1 h for priority 1."""
    agreement = AgreementFactory(name="Gold")
    calendar = BusinessCalendarFactory(name="Around the clock")
    return {
        "agreement": agreement,
        "response": TargetFactory(
            agreement=agreement,
            name="Response P3",
            metric=Metric.RESPONSE,
            priorities=[3],
            duration=H,
            calendar=calendar,
        ),
        "resolution": TargetFactory(
            agreement=agreement,
            name="Resolution P3",
            priorities=[3],
            duration=4 * H,
            calendar=calendar,
            pause_on=[PauseReason.CUSTOMER],
        ),
        "resolution_p1": TargetFactory(
            agreement=agreement,
            name="Resolution P1",
            priorities=[1],
            duration=H,
            calendar=calendar,
            pause_on=[PauseReason.CUSTOMER],
        ),
    }


def test_matching_picks_the_most_specific_then_shortest_then_oldest(db):
    agreement = AgreementFactory()
    group = SupportGroupFactory()
    broad = TargetFactory(agreement=agreement, name="Any", duration=2 * H)
    by_priority = TargetFactory(agreement=agreement, name="P3", priorities=[3], duration=8 * H)
    shorter_twin = TargetFactory(
        agreement=agreement, name="P3 short", priorities=[3], duration=6 * H
    )
    TargetFactory(agreement=agreement, name="P3 same", priorities=[3], duration=6 * H)
    TargetFactory(agreement=agreement, name="P1", priorities=[1], duration=H)
    ola = AgreementFactory(kind=AgreementKind.OLA, support_groups=[group])
    ola_target = TargetFactory(agreement=ola, name="Group", duration=3 * H)
    incident = IncidentFactory(priority=3, assignment_group=group)

    matched = sla.target_match(record=incident)

    winner, reason = matched[(AgreementKind.SLA, Metric.RESOLUTION)]
    assert winner.target_id == shorter_twin.pk
    assert reason["candidates"][:2] == [shorter_twin.pk, shorter_twin.pk + 1]
    assert set(reason["candidates"]) == {
        broad.pk,
        by_priority.pk,
        shorter_twin.pk,
        shorter_twin.pk + 1,
    }
    assert reason["conditions"] == ["priority"]
    assert reason["rule"] == sla.MATCH_RULE
    assert matched[(AgreementKind.OLA, Metric.RESOLUTION)][0].target_id == ola_target.pk
    # An OLA of another group does not apply.
    incident.assignment_group = SupportGroupFactory()
    assert (AgreementKind.OLA, Metric.RESOLUTION) not in sla.target_match(record=incident)


def test_inactive_or_expired_agreements_do_not_match(db):
    TargetFactory(agreement=AgreementFactory(status="draft"))
    TargetFactory(agreement=AgreementFactory(valid_to=dt.date(2021, 1, 1)))
    TargetFactory(is_active=False)

    assert sla.target_match(record=IncidentFactory(), on=dt.date(2026, 5, 1)) == {}


def test_creating_an_incident_starts_its_clocks(sla_24x7, agent, customer_a):
    incident = incident_create(actor=agent, caller=customer_a, title="Printer on fire")

    response, resolution = clocks_of(incident)
    assert (response.metric, response.state) == (Metric.RESPONSE, ClockState.RUNNING)
    assert (resolution.metric, resolution.state) == (Metric.RESOLUTION, ClockState.RUNNING)
    assert resolution.target_id == sla_24x7["resolution"].pk
    assert resolution.deadline_at == incident.created_at + 4 * H
    assert dues_of(resolution) == [
        (50, incident.created_at + 2 * H),
        (75, incident.created_at + 3 * H),
        (90, incident.created_at + dt.timedelta(minutes=216)),
        (100, incident.created_at + 4 * H),
    ]
    incident.refresh_from_db()
    assert incident.sla_due_at == incident.created_at + H
    assert list(resolution.events.values_list("kind", flat=True)) == [ClockEventKind.STARTED]


def test_a_new_assigned_incident_is_written_once_with_its_sla_due_and_assignment(
    sla_24x7, agent, customer_a
):
    group = SupportGroupFactory(name="Network")
    with CaptureQueriesContext(connection) as queries:
        incident = incident_create(
            actor=agent, caller=customer_a, title="Switch down", assignment_group=group
        )

    writes = [
        q["sql"]
        for q in queries
        if 'INSERT INTO "incidents_incident"' in q["sql"]
        or 'UPDATE "incidents_incident"' in q["sql"]
    ]
    assert len(writes) == 1 and "INSERT" in writes[0], writes
    stored = Incident.objects.get(pk=incident.pk)
    assert stored.status == "assigned"
    assert stored.assigned_at == stored.created_at
    assert stored.sla_due_at == stored.created_at + H  # the response clock's deadline
    response, resolution = clocks_of(stored)
    assert response.started_at == resolution.started_at == stored.created_at
    events = list(stored.events.order_by("pk").values_list("event_type", "occurred_at"))
    assert [kind for kind, _at in events] == ["created", "assigned"]


def test_office_hours_deadline_skips_the_night_and_the_weekend(db):
    calendar = office_hours_calendar()
    TargetFactory(duration=3 * H, calendar=calendar)
    incident = IncidentFactory()

    sla.sla_record_start(record=incident, actor=None, at=berlin(2027, 3, 5, 16, 30))  # Friday

    (clock,) = clocks_of(incident)
    # 16:30-18:00 Friday (1.5 h), then Monday 09:00-10:30.
    assert clock.deadline_at == berlin(2027, 3, 8, 10, 30)


def test_pause_never_counts_and_resume_moves_the_deadline(db):
    calendar = office_hours_calendar()
    TargetFactory(duration=4 * H, calendar=calendar, pause_on=[PauseReason.CUSTOMER])
    incident = IncidentFactory()
    start = berlin(2027, 3, 9, 9, 0)  # Tuesday
    sla.sla_record_start(record=incident, actor=None, at=start)

    sla.sla_record_pause(
        record=incident, reason=PauseReason.CUSTOMER, actor=None, at=berlin(2027, 3, 9, 10, 0)
    )
    (clock,) = clocks_of(incident)
    assert clock.state == ClockState.PAUSED
    assert clock.elapsed == H
    assert (dues_of(clock), clock.deadline_at) == ([], None)

    sla.sla_record_resume(record=incident, actor=None, at=berlin(2027, 3, 10, 9, 0))
    clock.refresh_from_db()
    # 1 h before the pause; 3 h left from Wednesday 09:00: 9-12.
    assert clock.deadline_at == berlin(2027, 3, 10, 12, 0)
    assert dues_of(clock) == [
        (50, berlin(2027, 3, 10, 10, 0)),
        (75, berlin(2027, 3, 10, 11, 0)),
        (90, berlin(2027, 3, 10, 11, 36)),
        (100, berlin(2027, 3, 10, 12, 0)),
    ]
    assert clock.state == ClockState.RUNNING

    sla.sla_record_resolve(record=incident, actor=None, at=berlin(2027, 3, 10, 11, 0))
    clock.refresh_from_db()
    assert (clock.state, clock.elapsed) == (ClockState.MET, 3 * H)
    assert list(clock.events.values_list("kind", flat=True)) == [
        ClockEventKind.STARTED,
        ClockEventKind.PAUSED,
        ClockEventKind.RESUMED,
        ClockEventKind.MET,
    ]
    # The history recomputes to the same figure (what an auditor does by hand).
    elapsed, running = sla.clock_replay(clock, sla._Specs()[clock.calendar_id])
    assert (elapsed, running) == (3 * H, None)


def test_a_reason_the_target_does_not_pause_for_keeps_the_clock_running(db):
    TargetFactory(pause_on=[PauseReason.CUSTOMER])
    incident = IncidentFactory()
    sla.sla_record_start(record=incident, actor=None, at=berlin(2027, 1, 4, 9))

    sla.sla_record_pause(
        record=incident, reason=PauseReason.VENDOR, actor=None, at=berlin(2027, 1, 4, 10)
    )

    (clock,) = clocks_of(incident)
    assert clock.state == ClockState.RUNNING


def test_pending_on_the_customer_pauses_and_their_reply_resumes(sla_24x7, agent, customer_a):
    incident = incident_create(actor=agent, caller=customer_a, title="Cannot log in")
    incident = incident_assign(actor=agent, incident=incident, group=None, assignee=agent)
    incident = incident_start(actor=agent, incident=incident)
    response, resolution = clocks_of(incident)
    assert response.state == ClockState.MET

    incident_pend(actor=agent, incident=incident, reason=PendingReason.AWAITING_CUSTOMER)
    resolution.refresh_from_db()
    assert resolution.state == ClockState.PAUSED
    incident.refresh_from_db()
    assert incident.sla_due_at is None

    incident_comment(actor=customer_a, incident=incident, body="Here is the screenshot.")
    resolution.refresh_from_db()
    assert resolution.state == ClockState.RUNNING
    incident.refresh_from_db()
    assert incident.sla_due_at == resolution.deadline_at


def test_priority_change_mid_flight_recomputes_from_history(sla_24x7, agent, customer_a):
    incident = incident_create(actor=agent, caller=customer_a, title="Slow VPN")
    (response, resolution) = clocks_of(incident)
    assert resolution.target_id == sla_24x7["resolution"].pk

    # Impact and urgency high -> priority 1: the 1 h target applies, same start.
    incident = incident_update(actor=agent, incident=incident, impact=1, urgency=1)

    assert incident.priority == 1
    resolution.refresh_from_db()
    assert resolution.target_id == sla_24x7["resolution_p1"].pk
    assert resolution.started_at == incident.created_at
    assert resolution.deadline_at == incident.created_at + H
    event = resolution.events.get(kind=ClockEventKind.RECOMPUTED)
    assert event.data["before"]["target"] == sla_24x7["resolution"].pk
    assert event.data["after"]["target"] == sla_24x7["resolution_p1"].pk
    # No response target for priority 1: that clock is cancelled.
    response.refresh_from_db()
    assert response.state == ClockState.CANCELLED


def test_retargeting_after_the_new_deadline_passed_breaches_at_the_next_tick(db):
    calendar = BusinessCalendarFactory()
    slow = TargetFactory(priorities=[3], duration=8 * H, calendar=calendar)
    fast = TargetFactory(agreement=slow.agreement, priorities=[1], duration=H, calendar=calendar)
    incident = IncidentFactory(priority=3)
    start = berlin(2027, 2, 1, 8)
    sla.sla_record_start(record=incident, actor=None, at=start)

    incident.priority = 1
    Incident.objects.filter(pk=incident.pk).update(priority=1)
    sla.sla_record_update(record=incident, actor=None, at=start + 3 * H)

    (clock,) = clocks_of(incident)
    assert clock.target_id == fast.pk
    # The new target's thresholds are all behind: due now, at once.
    assert dues_of(clock) == [(p, start + 3 * H) for p in (50, 75, 90, 100)]
    assert tick(start + 3 * H) == 4
    clock.refresh_from_db()
    assert clock.breached_at == start + 3 * H
    assert sorted(
        clock.events.filter(kind__in=["warning", "breached"]).values_list("percent", flat=True)
    ) == [50, 75, 90, 100]


def test_resolve_counts_in_the_rollup_and_reopen_takes_it_back(sla_24x7, agent, customer_a):
    incident = incident_create(actor=agent, caller=customer_a, title="Mail down")
    incident = incident_resolve(actor=agent, incident=incident, code="solved_workaround", notes="x")

    (response, resolution) = clocks_of(incident)
    assert resolution.state == ClockState.MET
    row = AttainmentRollup.objects.get(target=sla_24x7["resolution"])
    assert (row.met, row.breached, row.organisation_id, row.priority) == (
        1,
        0,
        customer_a.organisation_id,
        3,
    )

    incident_reject_resolution(actor=customer_a, incident=incident, reason="Still down")

    resolution.refresh_from_db()
    assert resolution.state == ClockState.RUNNING
    assert resolution.stopped_at is None
    row.refresh_from_db()
    assert (row.met, row.breached) == (0, 0)
    assert resolution.events.filter(kind=ClockEventKind.RESUMED, reason="reopened").count() == 1


def test_stopping_after_the_deadline_is_a_breach_even_before_the_tick(db):
    TargetFactory(duration=H)
    incident = IncidentFactory()
    start = berlin(2027, 2, 1, 8)
    sla.sla_record_start(record=incident, actor=None, at=start)

    sla.sla_record_resolve(record=incident, actor=None, at=start + 2 * H)

    (clock,) = clocks_of(incident)
    assert (clock.state, clock.breached_at, clock.elapsed) == (
        ClockState.BREACHED,
        start + H,
        2 * H,
    )
    assert clock.events.last().kind == ClockEventKind.MISSED
    assert AttainmentRollup.objects.get().breached == 1


def test_tick_marks_each_threshold_once_in_one_outbox_message(db):
    TargetFactory(duration=4 * H)
    incident = IncidentFactory()
    start = berlin(2027, 2, 1, 8)
    sla.sla_record_start(record=incident, actor=None, at=start)

    assert sla.clock_tick(now=start + H) == 0
    assert sla.clock_tick(now=start + 3 * H) == 2
    assert sla.clock_tick(now=start + 3 * H) == 0

    (clock,) = clocks_of(incident)
    assert dues_of(clock) == [(90, start + dt.timedelta(minutes=216)), (100, start + 4 * H)]
    # Marking only: the events come with the delivery of the message.
    assert not clock.events.exclude(kind=ClockEventKind.STARTED).exists()
    message = OutboxMessage.objects.get(topic="sla.fired")
    assert [(c, p, dt.datetime.fromisoformat(m)) for c, p, m in message.payload["firings"]] == [
        (clock.pk, 50, start + 2 * H),
        (clock.pk, 75, start + 3 * H),
    ]
    assert dt.datetime.fromisoformat(message.payload["marked_at"]) == start + 3 * H

    assert fired_deliver() == 1
    warnings = list(clock.events.filter(kind=ClockEventKind.WARNING).order_by("percent"))
    assert [(e.percent, e.occurred_at, e.elapsed) for e in warnings] == [
        (50, start + 2 * H, 2 * H),
        (75, start + 3 * H, 3 * H),
    ]
    ticket_events = TicketEvent.objects.filter(object_id=incident.pk, event_type="sla_warning")
    assert sorted(e.data["percent"] for e in ticket_events) == [50, 75]
    assert {dt.datetime.fromisoformat(e.data["recorded_at"]) for e in warnings} == {start + 3 * H}
    assert all(e.handled_at is not None for e in clock.events.filter(kind="warning"))

    assert tick(start + 5 * H) == 2
    clock.refresh_from_db()
    assert (clock.breached_at, dues_of(clock)) == (start + 4 * H, [])
    assert clock.state == ClockState.RUNNING
    assert TicketEvent.objects.filter(object_id=incident.pk, event_type="sla_breached").count() == 1


def test_a_repeated_delivery_records_and_escalates_nothing_twice(db, agent):
    target = TargetFactory(duration=4 * H, thresholds=[50])
    EscalationActionFactory(
        target=target, at_percent=100, action=EscalationActionKind.NOTIFY_ASSIGNEE
    )
    incident = IncidentFactory(status="in_progress", assignee=agent)
    start = berlin(2027, 2, 1, 8)
    sla.sla_record_start(record=incident, actor=None, at=start)
    assert sla.clock_tick(now=start + 5 * H) == 2
    message = OutboxMessage.objects.get(topic="sla.fired")

    sla.clock_fired_handler(message)
    sla.clock_fired_handler(message)
    escalation = OutboxMessage.objects.get(topic="sla.escalate")
    sla.clock_escalate_handler(escalation)
    sla.clock_escalate_handler(escalation)

    (clock,) = clocks_of(incident)
    assert sorted(
        clock.events.filter(kind__in=["warning", "breached"]).values_list("kind", "percent")
    ) == [("breached", 100), ("warning", 50)]
    assert (
        TicketEvent.objects.filter(object_id=incident.pk, event_type__startswith="sla_").count()
        == 2
    )
    assert list(Notification.objects.values_list("topic", flat=True)) == ["sla.breached"]
    assert clock.breached_at == start + 4 * H


def test_an_interrupted_delivery_escalates_on_the_next_one(db, agent):
    target = TargetFactory(duration=4 * H, thresholds=[])
    EscalationActionFactory(
        target=target, at_percent=100, action=EscalationActionKind.NOTIFY_ASSIGNEE
    )
    incident = IncidentFactory(status="in_progress", assignee=agent)
    start = berlin(2027, 2, 1, 8)
    sla.sla_record_start(record=incident, actor=None, at=start)
    sla.clock_tick(now=start + 5 * H)
    message = OutboxMessage.objects.get(topic="sla.fired")
    # Recorded before, with nothing escalated (a worker died in its escalation message).
    sla.clock_fired_record(
        firings=message.payload["firings"], marked_at=message.payload["marked_at"]
    )
    assert Notification.objects.count() == 0

    sla.clock_fired_handler(message)
    escalations_deliver()

    assert list(Notification.objects.values_list("topic", flat=True)) == ["sla.breached"]
    assert ClockEvent.objects.filter(kind="breached").count() == 1


def test_recording_leaves_the_escalations_to_a_message_of_their_own(db, agent):
    target = TargetFactory(duration=4 * H, thresholds=[50])
    EscalationActionFactory(
        target=target, at_percent=50, action=EscalationActionKind.NOTIFY_ASSIGNEE
    )
    EscalationActionFactory(
        target=target, at_percent=100, action=EscalationActionKind.NOTIFY_ASSIGNEE
    )
    incident = IncidentFactory(status="in_progress", assignee=agent)
    start = berlin(2027, 2, 1, 8)
    sla.sla_record_start(record=incident, actor=None, at=start)
    sla.clock_tick(now=start + 5 * H)
    message = OutboxMessage.objects.get(topic="sla.fired")

    sla.clock_fired_handler(message)

    (clock,) = clocks_of(incident)
    warning = clock.events.get(kind=ClockEventKind.WARNING)
    breach = clock.events.get(kind=ClockEventKind.BREACHED)
    assert (warning.handled_at, breach.handled_at) == (None, None)
    assert Notification.objects.count() == 0
    escalation = OutboxMessage.objects.get(topic="sla.escalate")
    assert escalation.payload == {"event_ids": [warning.pk, breach.pk]}
    assert escalation.dedup_key == f"sla.escalate:{message.pk}"
    assert escalation.dispatched_at is None

    assert escalations_deliver() == 1

    assert list(Notification.objects.order_by("pk").values_list("topic", flat=True)) == [
        "sla.warning",
        "sla.breached",
    ]
    assert not ClockEvent.objects.filter(handled_at__isnull=True, percent__isnull=False).exists()


def test_a_breach_escalated_first_takes_the_earlier_warning_with_it(db, agent):
    group = SupportGroupFactory(name="Second line")
    target = TargetFactory(duration=4 * H, thresholds=[50])
    EscalationActionFactory(
        target=target, at_percent=50, action=EscalationActionKind.RAISE_PRIORITY, priority=2
    )
    EscalationActionFactory(
        target=target, at_percent=100, action=EscalationActionKind.REASSIGN_GROUP, group=group
    )
    incident = IncidentFactory(priority=3, status="in_progress", assignee=agent)
    start = berlin(2027, 2, 1, 8)
    sla.sla_record_start(record=incident, actor=None, at=start)
    sla.clock_tick(now=start + 3 * H)
    warning_message = OutboxMessage.objects.get(topic="sla.fired")
    sla.clock_fired_handler(warning_message)
    sla.clock_tick(now=start + 5 * H)
    sla.clock_fired_handler(
        OutboxMessage.objects.filter(topic="sla.fired").exclude(pk=warning_message.pk).get()
    )
    first, second = OutboxMessage.objects.filter(topic="sla.escalate").order_by("pk")

    # The breach's message is delivered before the warning's (another worker, a retry).
    assert sla.clock_events_escalate(event_ids=second.payload["event_ids"]) == 2
    assert sla.clock_events_escalate(event_ids=first.payload["event_ids"]) == 0

    escalated = TicketEvent.objects.filter(
        object_id=incident.pk, event_type__in=["field_changed", "assigned"]
    ).order_by("pk")
    assert [(e.event_type, e.data.get("reason")) for e in escalated] == [
        ("field_changed", "sla:warning:50"),
        ("assigned", None),
    ]
    (clock,) = clocks_of(incident)
    warning = clock.events.get(kind=ClockEventKind.WARNING)
    breach = clock.events.get(kind=ClockEventKind.BREACHED)
    assert warning.handled_at <= breach.handled_at
    incident.refresh_from_db()
    assert (incident.priority, incident.assignment_group) == (2, group)


def test_a_big_batch_is_split_into_several_messages(db, monkeypatch):
    TargetFactory(duration=H, thresholds=[50])
    incidents = IncidentFactory.create_batch(3)
    start = berlin(2027, 2, 1, 8)
    for incident in incidents:
        sla.sla_record_start(record=incident, actor=None, at=start)
    monkeypatch.setattr(sla, "FIRED_CHUNK", 4)

    assert sla.clock_tick(now=start + 2 * H) == 6

    messages = OutboxMessage.objects.filter(topic="sla.fired").order_by("pk")
    assert [len(m.payload["firings"]) for m in messages] == [4, 2]
    assert len({m.dedup_key for m in messages}) == 2
    assert fired_deliver() == 2
    assert ClockEvent.objects.filter(kind__in=["warning", "breached"]).count() == 6
    assert not Clock.objects.filter(breached_at__isnull=True).exists()


def test_tick_with_nothing_due_touches_nothing(db):
    TargetFactory(duration=4 * H)
    sla.sla_record_start(record=IncidentFactory(), actor=None, at=berlin(2027, 2, 1, 8))

    assert sla.clock_tick(now=berlin(2027, 2, 1, 8, 30)) == 0
    assert ClockEvent.objects.exclude(kind=ClockEventKind.STARTED).count() == 0
    assert not OutboxMessage.objects.filter(topic="sla.fired").exists()


@pytest.mark.django_db(transaction=True)
def test_a_tick_skips_the_thresholds_another_tick_holds_and_they_stay_due():
    TargetFactory(duration=H, thresholds=[50])
    first, second = IncidentFactory.create_batch(2)
    start = berlin(2027, 2, 1, 8)
    for incident in (first, second):
        sla.sla_record_start(record=incident, actor=None, at=start)
    (held,) = clocks_of(first)
    (free,) = clocks_of(second)

    with psycopg.connect(worker_database_url()) as other:
        # Another tick's transaction, with the first clock's due rows locked.
        other.execute("SELECT 1 FROM sla_clockdue WHERE clock_id = %s FOR UPDATE", [held.pk])
        assert sla.clock_tick(now=start + 2 * H) == 2
        other.rollback()

    assert dues_of(held) == [(50, start + H / 2), (100, start + H)]
    assert dues_of(free) == []
    message = OutboxMessage.objects.get(topic="sla.fired")
    assert [(c, p) for c, p, _m in message.payload["firings"]] == [(free.pk, 50), (free.pk, 100)]
    assert sla.clock_tick(now=start + 2 * H) == 2
    assert dues_of(held) == []


def test_escalations_notify_raise_priority_and_reassign_once(db, agent, manager):
    group = SupportGroupFactory(manager=manager)
    group.members.add(agent)
    escalation_group = SupportGroupFactory(name="Second line")
    watcher = UserFactory(username="duty-manager", roles=["agent"])
    target = TargetFactory(duration=4 * H, thresholds=[75])
    EscalationActionFactory(
        target=target, at_percent=75, action=EscalationActionKind.NOTIFY_ASSIGNEE
    )
    EscalationActionFactory(
        target=target, at_percent=100, action=EscalationActionKind.NOTIFY_GROUP_MANAGER
    )
    EscalationActionFactory(
        target=target, at_percent=100, action=EscalationActionKind.NOTIFY_USERS, users=[watcher]
    )
    EscalationActionFactory(
        target=target, at_percent=100, action=EscalationActionKind.RAISE_PRIORITY, priority=1
    )
    EscalationActionFactory(
        target=target,
        at_percent=100,
        action=EscalationActionKind.REASSIGN_GROUP,
        group=escalation_group,
    )
    incident = IncidentFactory(
        priority=3, status="in_progress", assignment_group=group, assignee=agent
    )
    start = berlin(2027, 2, 1, 8)
    sla.sla_record_start(record=incident, actor=None, at=start)
    sla.clock_tick(now=start + 5 * H)
    message = OutboxMessage.objects.get(topic="sla.fired")
    event_ids = sla.clock_fired_record(
        firings=message.payload["firings"], marked_at=message.payload["marked_at"]
    )

    assert sla.clock_events_escalate(event_ids=event_ids) == 2
    assert sla.clock_events_escalate(event_ids=event_ids) == 0

    assert sorted(Notification.objects.values_list("topic", "recipient__username")) == [
        ("sla.breached", "duty-manager"),
        ("sla.breached", manager.username),
        ("sla.warning", agent.username),
    ]
    incident.refresh_from_db()
    assert (incident.priority, incident.assignment_group_id, incident.assignee_id) == (
        1,
        escalation_group.pk,
        None,
    )
    assert (
        TicketEvent.objects.filter(
            object_id=incident.pk, event_type="field_changed", data__field="priority"
        ).count()
        == 1
    )


def test_a_holiday_added_to_the_calendar_moves_running_deadlines(db):
    calendar = office_hours_calendar()
    TargetFactory(duration=4 * H, calendar=calendar)
    incident = IncidentFactory()
    sla.sla_record_start(record=incident, actor=None, at=berlin(2027, 3, 9, 16, 0))  # Tuesday
    (clock,) = clocks_of(incident)
    # 16-18 Tuesday, then 9-11 Wednesday.
    assert clock.deadline_at == berlin(2027, 3, 10, 11, 0)

    calendar.days.create(date=dt.date(2027, 3, 10), kind="holiday", name="Company day")
    calendar_changed(calendar=calendar)  # what the admin and the API do after an edit
    assert sla.clocks_recompute(calendar=calendar, now=berlin(2027, 3, 9, 17, 0)) == 1

    clock.refresh_from_db()
    assert clock.deadline_at == berlin(2027, 3, 11, 11, 0)
    event = clock.events.get(kind=ClockEventKind.RECOMPUTED)
    assert event.reason == "calendar changed"
    before = dt.datetime.fromisoformat(event.data["before"]["deadline_at"])
    assert before == berlin(2027, 3, 10, 11, 0)
    incident.refresh_from_db()
    assert incident.sla_due_at == berlin(2027, 3, 11, 11, 0)


def test_a_longer_target_withdraws_a_breach_and_keeps_the_history(db):
    target = TargetFactory(duration=H, thresholds=[])
    incident = IncidentFactory()
    start = berlin(2027, 2, 1, 8)
    sla.sla_record_start(record=incident, actor=None, at=start)
    tick(start + 2 * H)
    (clock,) = clocks_of(incident)
    assert clock.breached_at == start + H

    target.duration = 8 * H
    target.save(update_fields=["duration"])
    sla.clocks_recompute(target=target, now=start + 2 * H)

    clock.refresh_from_db()
    assert (clock.target_duration, clock.breached_at) == (8 * H, None)
    assert clock.events.filter(kind=ClockEventKind.BREACHED).count() == 1
    recomputed = clock.events.get(kind=ClockEventKind.RECOMPUTED)
    assert recomputed.data["after"]["duration"] == 8 * 3600


def test_starting_two_clocks_costs_the_queries_of_one(db):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    calendar = BusinessCalendarFactory()
    resolution = TargetFactory(duration=4 * H, calendar=calendar, metric=Metric.RESOLUTION)
    start = berlin(2027, 2, 1, 8)
    sla.sla_record_start(record=IncidentFactory(), actor=None, at=start)  # calendar cached
    first = IncidentFactory()
    with CaptureQueriesContext(connection) as one:
        sla.sla_record_start(record=first, actor=None, at=start)
    TargetFactory(
        agreement=resolution.agreement, duration=H, calendar=calendar, metric=Metric.RESPONSE
    )
    # The new target moved the configuration version: the next start reloads the targets.
    sla.sla_record_start(record=IncidentFactory(), actor=None, at=start)
    incident = IncidentFactory()
    with CaptureQueriesContext(connection) as two:
        sla.sla_record_start(record=incident, actor=None, at=start)

    assert len(clocks_of(incident)) == 2
    assert [[p for p, _due in dues_of(c)] for c in clocks_of(incident)] == [
        [50, 75, 90, 100],
        [50, 75, 90, 100],
    ]
    assert len(two) == len(one)
