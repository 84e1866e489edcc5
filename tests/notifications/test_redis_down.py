"""With Redis down, incidents can still be changed; once it is back, every notification
arrives exactly once. A real worker, a real Redis that really stops (issue 4)."""

import tempfile
import time

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

import core.cache
from accounts.services import api_token_create
from core.models import OutboxMessage
from core.outbox import outbox_relay
from incidents.models import Incident
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


def test_with_the_only_redis_down_people_keep_working_over_http(
    roles, customer_a, agent, manager, throwaway_redis, use_broker, settings, monkeypatch
):
    """Cache, sessions' cache, rate limit and broker on one Redis, as in production
    (docker-compose): while it is down, agents and customers still log, edit and reply
    through the pages and the API, and a customer's sign-out holds after it returns."""
    group = SupportGroupFactory(name="Service desk", manager=manager)
    group.members.add(agent)
    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": throwaway_redis.url}}
    use_broker(throwaway_redis.url)
    monkeypatch.setattr(core.cache, "PAUSE_SECONDS", 0.5)
    desk, portal, api = Client(), Client(), Client()
    desk.force_login(agent)
    portal.force_login(customer_a)
    token = api_token_create(user=agent, name="integration", actor=manager)[1]
    mine = incident_create(actor=customer_a, title="Laptop will not boot")
    cache.set("probe", "from before")

    throwaway_redis.stop()
    queue = desk.get(reverse("incidents:incident_list"))
    logged = desk.post(
        reverse("incidents:incident_create"),
        {"caller": customer_a.pk, "channel": "phone", "title": "Printer jams on floor 3",
         "impact": 2, "urgency": 2, "assignment_group": group.pk},
    )  # fmt: skip
    created = api.post(
        "/api/v1/incidents/",
        {"title": "Backup job failed", "caller": customer_a.pk, "assignment_group": group.pk},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Token {token}",
    )
    edited = api.patch(
        f"/api/v1/incidents/{created.json()['id']}/",
        {"urgency": 1},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Token {token}",
    )
    home = portal.get(reverse("portal:home"))
    replied = portal.post(reverse("portal:incident_reply", args=[mine.pk]), {"body": "Still off."})
    signed_out = portal.post(reverse("accounts:logout"))
    pending_while_down = OutboxMessage.objects.filter(dispatched_at__isnull=True).count()
    relayed_while_down = outbox_relay()

    throwaway_redis.start()
    time.sleep(0.6)  # the cache's pause after the failure
    relayed_after = outbox_relay()
    back = portal.get(reverse("portal:home"))

    assert (queue.status_code, logged.status_code, home.status_code) == (200, 302, 200)
    assert (created.status_code, edited.status_code, replied.status_code) == (201, 200, 302)
    assert signed_out.status_code == 302
    titles = ["Printer jams on floor 3", "Backup job failed"]
    assert Incident.objects.filter(title__in=titles).count() == 2
    assert Incident.objects.get(pk=created.json()["id"]).urgency == 1
    assert relayed_while_down == 0
    assert pending_while_down > 0 and relayed_after == pending_while_down
    # The session ended while Redis was down is gone, though Redis kept its old copy.
    assert back.status_code == 302 and reverse("accounts:login") in back["Location"]
    assert cache.get("probe") is None
