"""The SLA tick with real Celery workers on a real Redis (issue 5), in the production
layout (README, Architecture): a worker on the "sla" queue runs the tick and records what
it fired, the default worker delivers everything else. A breach is recorded once and
notified once, even with two tick workers and one killed in the middle of a batch, and
it is recorded within one tick interval while the default queue is stuck."""

import datetime as dt
import os
import signal
import tempfile
import time

import psycopg
import pytest
from django.db import connection
from django.utils import timezone

from core.models import TicketEvent
from incidents.services import incident_assign
from itsm.celery import app as celery_app
from notifications.models import Notification
from sla import services as sla
from sla.choices import ClockEventKind
from sla.models import Clock, ClockDue, ClockEvent
from sla.tasks import clock_tick_task
from tests.factories import SupportGroupFactory
from tests.incidents.factories import IncidentFactory
from tests.processes import start_worker, stop_process, wait_for, worker_database_url
from tests.sla.factories import EscalationActionFactory, TargetFactory

pytestmark = pytest.mark.django_db(transaction=True)


def breach_counts() -> tuple[int, int, int]:
    return (
        ClockEvent.objects.filter(kind=ClockEventKind.BREACHED).count(),
        TicketEvent.objects.filter(event_type="sla_breached").count(),
        Notification.objects.filter(topic="sla.breached").count(),
    )


def _worker(name: str, url: str, log, **extra):
    return start_worker(
        broker_url=url,
        name=name,
        stdout=log,
        DATABASE_URL=worker_database_url(),
        ITSM_DB_CONN_MAX_AGE="0",
        **extra,
    )


def _layout(url: str, log, beat_schedule: str | None = None, **extra) -> list:
    """The workers of production: one on the "sla-tick" and "sla" queues and one on the
    default queue; beat, when asked for, runs inside the default one."""
    return [
        _worker("sla", url, log, queues="sla-tick,sla", **extra),
        _worker("default", url, log, queues="celery", beat_schedule=beat_schedule, **extra),
    ]


def _ready(*workers) -> None:
    wait_for(
        lambda: (
            any(worker.poll() is not None for worker in workers)
            or len(celery_app.control.ping(timeout=0.5)) >= len(workers)
        ),
        60,
        "workers",
    )
    assert all(worker.poll() is None for worker in workers)


def test_a_clock_due_in_seconds_breaches_once_and_notifies_once(
    agent,
    throwaway_redis,
    use_broker,
):
    use_broker(throwaway_redis.url)
    target = TargetFactory(duration=dt.timedelta(seconds=3), thresholds=[])
    EscalationActionFactory(target=target)  # notify the assignee at the breach
    incident = IncidentFactory(status="in_progress", assignee=agent)
    log = tempfile.TemporaryFile()  # noqa: SIM115 - read back after the worker stops
    schedule = tempfile.mkdtemp(prefix="itsm-beat-")
    # Beat ticks every second.
    workers = _layout(
        throwaway_redis.url,
        log,
        beat_schedule=os.path.join(schedule, "beat"),
        ITSM_SLA_TICK_SECONDS="1",
    )
    try:
        _ready(*workers)
        sla.sla_record_start(record=incident, actor=None)
        wait_for(lambda: breach_counts() == (1, 1, 1), 40, "the breach and its notification")
        time.sleep(3)  # a few more ticks: nothing more happens
        counts = breach_counts()
    finally:
        for worker in workers:
            stop_process(worker)
        log.seek(0)
        worker_log = log.read().decode(errors="replace")
        log.close()

    assert counts == (1, 1, 1), worker_log
    clock = Clock.objects.get()
    breach = clock.events.get(kind=ClockEventKind.BREACHED)
    assert breach.occurred_at == clock.deadline_at == clock.breached_at
    # Recorded within one tick interval (1 s here) plus the worker's scheduling slack.
    recorded = dt.datetime.fromisoformat(breach.data["recorded_at"])
    assert dt.timedelta(0) <= recorded - clock.deadline_at < dt.timedelta(seconds=3)
    assert Notification.objects.get(topic="sla.breached").recipient == agent


def _tick_backend_waiting(dsn: str) -> int | None:
    with psycopg.connect(dsn, autocommit=True) as probe:
        row = probe.execute(
            "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND query LIKE '%%FROM sla_clock%%' LIMIT 1"
        ).fetchone()
    return row[0] if row else None


def test_two_workers_and_one_killed_mid_batch_still_breach_each_clock_once(
    agent,
    throwaway_redis,
    use_broker,
):
    use_broker(throwaway_redis.url)
    target = TargetFactory(duration=dt.timedelta(seconds=1), thresholds=[50])
    EscalationActionFactory(target=target)
    started = timezone.now() - dt.timedelta(minutes=5)
    incidents = [IncidentFactory(status="in_progress", assignee=agent) for _ in range(20)]
    for incident in incidents:
        sla.sla_record_start(record=incident, actor=None, at=started)
    dsn = worker_database_url()
    log = tempfile.TemporaryFile()  # noqa: SIM115 - read back after the workers stop
    workers = []
    # Hold the outbox table so the first worker's tick stops half-way through its
    # statement, with the due rows locked and deleted, and its message not yet written.
    blocker = psycopg.connect(dsn)
    blocker.execute("LOCK TABLE core_outboxmessage IN SHARE ROW EXCLUSIVE MODE")
    try:
        doomed = _worker("sla-doomed", throwaway_redis.url, log, queues="sla-tick,sla")
        workers.append(doomed)
        _ready(doomed)
        clock_tick_task.delay()
        wait_for(lambda: _tick_backend_waiting(dsn) is not None, 30, "the first tick to block")
        backend = _tick_backend_waiting(dsn)
        doomed.send_signal(signal.SIGKILL)
        doomed.wait(timeout=10)
        # PostgreSQL notices the dead client and rolls its transaction back.
        with psycopg.connect(dsn, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", [backend])
        blocker.rollback()
        assert breach_counts() == (0, 0, 0)

        # Two tick workers (a scaled-out "sla" queue) and the default one.
        for name, queues in (
            ("sla-a", "sla-tick,sla"),
            ("sla-b", "sla-tick,sla"),
            ("default", "celery"),
        ):
            workers.append(_worker(name, throwaway_redis.url, log, queues=queues))
        _ready(*workers[1:])

        def ticked_through() -> bool:
            for _ in range(4):  # overlapping ticks, as several beats or retries would send
                clock_tick_task.delay()
            return breach_counts() == (20, 20, 20)

        wait_for(ticked_through, 60, "every breach once")
        for _ in range(10):
            clock_tick_task.delay()
        time.sleep(3)
        counts = breach_counts()
    finally:
        blocker.close()
        for worker in workers:
            stop_process(worker)
        log.seek(0)
        worker_log = log.read().decode(errors="replace")
        log.close()

    assert counts == (20, 20, 20), worker_log
    assert ClockEvent.objects.filter(kind=ClockEventKind.WARNING).count() == 20
    assert sorted(
        ClockEvent.objects.filter(kind=ClockEventKind.BREACHED).values_list("clock_id", flat=True)
    ) == sorted(Clock.objects.values_list("pk", flat=True))
    assert set(Notification.objects.values_list("recipient_id", flat=True)) == {agent.pk}
    assert not ClockDue.objects.exists()
    assert connection.vendor == "postgresql"


def _waiting_for_lock_on(dsn: str, table: str) -> bool:
    with psycopg.connect(dsn, autocommit=True) as probe:
        return probe.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND query LIKE %s)",
            [f"%{table}%"],
        ).fetchone()[0]


def test_a_breach_is_recorded_within_the_tick_while_the_default_queue_is_stuck(
    agent,
    manager,
    throwaway_redis,
    use_broker,
):
    use_broker(throwaway_redis.url)
    tick_seconds = 2
    group = SupportGroupFactory()
    group.members.add(agent)
    # Notification work queued ahead on the default queue: ten assignments, each to be
    # announced to the agent.
    for _ in range(10):
        incident_assign(actor=manager, incident=IncidentFactory(), group=group, assignee=agent)
    target = TargetFactory(duration=dt.timedelta(seconds=3), thresholds=[])
    EscalationActionFactory(target=target)  # notify the assignee at the breach
    incident = IncidentFactory(status="in_progress", assignee=agent)
    dsn = worker_database_url()
    log = tempfile.TemporaryFile()  # noqa: SIM115 - read back after the workers stop
    schedule = tempfile.mkdtemp(prefix="itsm-beat-")
    # Every notification waits on this lock: the default worker is stuck in its first
    # delivery, the other deliveries, relays and escalations queue up behind it.
    blocker = psycopg.connect(dsn)
    blocker.execute("LOCK TABLE notifications_notification IN SHARE ROW EXCLUSIVE MODE")
    workers = _layout(
        throwaway_redis.url,
        log,
        beat_schedule=os.path.join(schedule, "beat"),
        ITSM_SLA_TICK_SECONDS=str(tick_seconds),
    )
    try:
        wait_for(
            lambda: _waiting_for_lock_on(dsn, "notifications_notification"),
            60,
            "the default worker to be stuck",
        )
        _ready(workers[0])  # the stuck (solo) default worker cannot answer a ping
        (clock,) = sla.sla_record_start(record=incident, actor=None)
        wait_for(lambda: breach_counts()[:2] == (1, 1), 30, "the breach to be recorded")
        recorded_seen = timezone.now()
        still_stuck = _waiting_for_lock_on(dsn, "notifications_notification")
        notified_while_stuck = Notification.objects.count()

        blocker.rollback()
        wait_for(lambda: breach_counts() == (1, 1, 1), 60, "the breach's notification")
        wait_for(
            lambda: Notification.objects.filter(topic="incident.assigned").count() == 10,
            60,
            "the assignments' notifications",
        )
        time.sleep(tick_seconds * 2)  # more ticks and relays: nothing more happens
        counts = breach_counts()
    finally:
        blocker.close()
        for worker in workers:
            stop_process(worker)
        log.seek(0)
        worker_log = log.read().decode(errors="replace")
        log.close()

    assert still_stuck, worker_log
    assert notified_while_stuck == 0
    clock.refresh_from_db()
    # Seen by this polling test within one tick interval of the deadline, plus the
    # workers' scheduling slack; the stuck default queue took no part in it.
    assert recorded_seen - clock.deadline_at < dt.timedelta(seconds=tick_seconds + 2), worker_log
    assert clock.breached_at == clock.deadline_at
    assert counts == (1, 1, 1), worker_log
    assert ClockEvent.objects.get(kind=ClockEventKind.BREACHED).handled_at is not None
    assert Notification.objects.get(topic="sla.breached").recipient == agent
    assert Notification.objects.filter(topic="incident.assigned").count() == 10
