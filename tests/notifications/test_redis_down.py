"""With Redis down, incidents can still be changed; once it is back, every notification
arrives exactly once. A real worker, a real Redis that really stops (issue 4)."""

import tempfile
import time

import pytest

from core.models import OutboxMessage
from core.outbox import outbox_relay
from incidents.services import (
    incident_assign,
    incident_comment,
    incident_create,
    incident_declare_major,
    incident_major_update,
    incident_reject_resolution,
    incident_resolve,
)
from itsm.celery import app as celery_app
from notifications.models import Notification
from tests.factories import SupportGroupFactory, UserFactory
from tests.processes import start_worker, stop_process, wait_for, worker_database_url

pytestmark = pytest.mark.django_db(transaction=True)


def received() -> list[tuple[str, str]]:
    return sorted(
        Notification.objects.filter(emailed_at__isnull=False).values_list(
            "topic", "recipient__username"
        )
    )


def test_with_redis_down_writes_succeed_and_every_notification_arrives_once(
    roles, customer_a, agent, manager, throwaway_redis, use_broker
):
    agent2 = UserFactory(username="agent2", roles=["agent"])
    group = SupportGroupFactory(name="Service desk", manager=manager)
    group.members.add(agent, agent2)
    use_broker(throwaway_redis.url)
    log = tempfile.TemporaryFile()  # noqa: SIM115 - read back after the worker stops
    worker = start_worker(
        broker_url=throwaway_redis.url,
        name="notifications-test",
        stdout=log,
        DATABASE_URL=worker_database_url(),
        ITSM_DB_CONN_MAX_AGE="0",
    )
    try:
        wait_for(
            lambda: worker.poll() is not None or celery_app.control.ping(timeout=0.5, limit=1),
            60,
            "worker",
        )
        assert worker.poll() is None

        # Redis up: the nudge after commit gets the notification out, no beat needed.
        incident = incident_create(actor=customer_a, title="VPN drops every hour")
        incident_assign(actor=manager, incident=incident, group=group)
        wait_for(lambda: len(received()) == 2, 20, "notifications with Redis up")

        throwaway_redis.stop()
        started = time.monotonic()
        incident_comment(actor=customer_a, incident=incident, body="Again at 10:00.")
        incident_assign(actor=manager, incident=incident, group=group, assignee=agent)
        incident_resolve(
            actor=agent, incident=incident, code="solved_workaround", notes="New profile."
        )
        incident_reject_resolution(actor=customer_a, incident=incident, reason="Still drops.")
        incident_declare_major(actor=manager, incident=incident)
        incident_major_update(actor=manager, incident=incident, body="Vendor engaged.")
        writes_took = time.monotonic() - started
        relayed_while_down = outbox_relay()
        pending_while_down = OutboxMessage.objects.filter(dispatched_at__isnull=True).count()

        throwaway_redis.start()
        relayed_after = outbox_relay()
        wait_for(lambda: len(received()) == 12, 30, "notifications after Redis is back")
        # A second relay finds nothing left; a lost acknowledgement redelivering a
        # message would still notify nobody twice (unique per recipient and event).
        relayed_again = outbox_relay()
    finally:
        stop_process(worker)
        log.seek(0)
        worker_log = log.read().decode(errors="replace")
        log.close()

    assert writes_took < 3, f"writes with Redis down took {writes_took:.1f}s"
    assert relayed_while_down == 0
    assert pending_while_down == 6
    assert relayed_after == 6 and relayed_again == 0
    assert received() == [
        ("incident.assigned", "agent"),
        ("incident.assigned", "agent"),
        ("incident.assigned", "agent2"),
        # Handlers read the incident as it is at delivery: by then the reply has an
        # assignee, who alone hears of it.
        ("incident.customer_replied", "agent"),
        ("incident.major_declared", "agent"),
        ("incident.major_declared", "agent2"),
        ("incident.major_declared", "cust_a"),
        ("incident.major_update", "agent"),
        ("incident.major_update", "agent2"),
        ("incident.major_update", "cust_a"),
        ("incident.reopened", "agent"),
        ("incident.resolved", "cust_a"),
    ], worker_log
    assert Notification.objects.count() == 12
