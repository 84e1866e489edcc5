"""The transactional outbox: enqueue in the caller's transaction, nudge after commit,
relay to the broker, survive a broker that is down, send again what the broker lost."""

import json
import time
from datetime import timedelta

import pytest
import redis
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.models import OutboxMessage
from core.outbox import (
    MAX_ATTEMPTS,
    REDELIVER_AFTER,
    outbox_deliver,
    outbox_enqueue,
    outbox_kick,
    outbox_purge,
    outbox_relay,
)
from incidents.services import incident_assign, incident_create
from notifications.models import Notification
from tests.factories import SupportGroupFactory
from tests.processes import free_port

pytestmark = pytest.mark.django_db


def enqueue(key: str) -> None:
    outbox_enqueue(topic="test.topic", payload={"n": key}, dedup_key=key)


def test_a_transaction_nudges_the_relay_once_whatever_it_enqueues(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        enqueue("a")
        enqueue("b")
        enqueue("a")

    assert callbacks == [outbox_kick]
    assert sorted(OutboxMessage.objects.values_list("dedup_key", flat=True)) == ["a", "b"]


def test_nudge_with_the_broker_down_returns_at_once(use_broker):
    use_broker(f"redis://127.0.0.1:{free_port()}/0")
    started = time.monotonic()

    outbox_kick()

    assert time.monotonic() - started < 1


def test_relay_with_the_broker_down_keeps_messages_and_records_the_error(use_broker):
    with transaction.atomic():
        enqueue("a")
        enqueue("b")
    use_broker(f"redis://127.0.0.1:{free_port()}/0")
    started = time.monotonic()

    published = outbox_relay()

    assert published == 0
    assert time.monotonic() - started < 1
    first, second = OutboxMessage.objects.order_by("created_at", "pk")
    assert first.dispatched_at is None and first.attempts == 1
    assert "Connection refused" in first.last_error
    assert second.dispatched_at is None and second.attempts == 0


def test_relay_publishes_every_pending_message_once(use_broker, throwaway_redis):
    use_broker(throwaway_redis.url)
    with transaction.atomic():
        for n in range(5):
            enqueue(str(n))
    OutboxMessage.objects.filter(dedup_key="0").update(attempts=2, last_error="down")

    first = outbox_relay(batch_size=2)
    second = outbox_relay(batch_size=2)

    assert (first, second) == (5, 0)
    assert not OutboxMessage.objects.filter(dispatched_at__isnull=True).exists()
    assert OutboxMessage.objects.get(dedup_key="0").last_error == ""
    queued = redis.Redis.from_url(throwaway_redis.url).llen("celery")
    assert queued == 5
    assert throwaway_redis.url == settings.CELERY_BROKER_URL


def _queued_deliveries(url: str, queue: str) -> list[tuple[str, str]]:
    """(task name, arguments) of the messages waiting in a Redis queue of the broker."""
    messages = [json.loads(raw) for raw in redis.Redis.from_url(url).lrange(queue, 0, -1)]
    return [(m["headers"]["task"], m["headers"]["argsrepr"]) for m in messages]


def test_relay_publishes_a_mapped_topic_to_its_queue(use_broker, throwaway_redis, settings):
    use_broker(throwaway_redis.url)
    settings.ITSM_OUTBOX_QUEUES = {"test.urgent": "urgent"}
    with transaction.atomic():
        enqueue("a")
        outbox_enqueue(topic="test.urgent", payload={}, dedup_key="u")
    plain, urgent = (OutboxMessage.objects.get(dedup_key=key).pk for key in ("a", "u"))

    published = outbox_relay()

    assert published == 2
    deliver = "core.tasks.outbox_deliver_task"
    assert _queued_deliveries(throwaway_redis.url, "urgent") == [(deliver, f"({urgent},)")]
    assert _queued_deliveries(throwaway_redis.url, "celery") == [(deliver, f"({plain},)")]


def test_relay_of_some_topics_leaves_the_others_waiting(use_broker, throwaway_redis, settings):
    use_broker(throwaway_redis.url)
    settings.ITSM_OUTBOX_QUEUES = {"test.urgent": "urgent"}
    with transaction.atomic():
        enqueue("a")
        outbox_enqueue(topic="test.urgent", payload={}, dedup_key="u")

    published = outbox_relay(topics=["test.urgent"])

    assert published == 1
    assert OutboxMessage.objects.get(dedup_key="a").dispatched_at is None
    assert OutboxMessage.objects.get(dedup_key="u").dispatched_at is not None
    assert redis.Redis.from_url(throwaway_redis.url).llen("celery") == 0


def test_purge_deletes_only_old_delivered_or_given_up_messages():
    with transaction.atomic():
        for key in ("old", "recent", "pending", "lost", "given-up"):
            enqueue(key)
    now = timezone.now()
    long_ago, lately = now - timedelta(days=8), now - timedelta(days=1)
    sent = OutboxMessage.objects.filter
    sent(dedup_key="old").update(dispatched_at=long_ago, delivered_at=long_ago)
    sent(dedup_key="recent").update(dispatched_at=lately, delivered_at=lately)
    sent(dedup_key="lost").update(dispatched_at=long_ago, attempts=2)
    sent(dedup_key="given-up").update(dispatched_at=long_ago, attempts=MAX_ATTEMPTS)

    deleted = outbox_purge()

    assert deleted == 2
    remaining = sorted(OutboxMessage.objects.values_list("dedup_key", flat=True))
    assert remaining == ["lost", "pending", "recent"]


def test_a_delivery_the_broker_lost_is_sent_again_and_notifies_once(
    use_broker, throwaway_redis, roles, customer_a, manager, agent
):
    """Redis restarted before writing the task to disk: the message was dispatched but
    never delivered. The relay sends it again once REDELIVER_AFTER has passed; a delivery
    records itself, so a delivered message is never sent again."""
    use_broker(throwaway_redis.url)
    group = SupportGroupFactory(name="Desk")
    group.members.add(agent)
    incident = incident_create(actor=customer_a, title="Scanner offline")
    incident_assign(actor=manager, incident=incident, group=group)
    message = OutboxMessage.objects.get(topic="incident.assigned")
    broker = redis.Redis.from_url(throwaway_redis.url)

    assert outbox_relay() == 1
    broker.flushdb()  # the task is lost
    assert outbox_relay() == 0  # too early to tell it from a slow delivery
    OutboxMessage.objects.filter(pk=message.pk).update(
        dispatched_at=timezone.now() - REDELIVER_AFTER - timedelta(seconds=1)
    )
    resent = outbox_relay()
    outbox_deliver(message_id=message.pk)
    outbox_deliver(message_id=message.pk)  # a late duplicate of the first send
    OutboxMessage.objects.filter(pk=message.pk).update(
        dispatched_at=timezone.now() - REDELIVER_AFTER - timedelta(seconds=1)
    )

    assert resent == 1 and broker.llen("celery") == 1
    message.refresh_from_db()
    assert message.delivered_at is not None and message.attempts == 2
    assert outbox_relay() == 0  # delivered: never again
    assert list(Notification.objects.values_list("recipient__username", flat=True)) == ["agent"]


def test_an_undelivered_message_is_given_up_after_max_attempts(use_broker, throwaway_redis):
    use_broker(throwaway_redis.url)
    with transaction.atomic():
        enqueue("stuck")
    OutboxMessage.objects.update(
        dispatched_at=timezone.now() - REDELIVER_AFTER * 2, attempts=MAX_ATTEMPTS
    )

    assert outbox_relay() == 0


def test_a_nudge_is_skipped_while_an_earlier_one_waits_and_resumes_once_the_relay_starts(
    use_broker, throwaway_redis
):
    use_broker(throwaway_redis.url)
    queue = redis.Redis.from_url(throwaway_redis.url)

    outbox_kick()
    outbox_kick()  # the first relay has not started: it will read this nudge's rows too
    assert _queued_deliveries(throwaway_redis.url, "celery") == [
        ("core.tasks.outbox_relay_task", "()")
    ]

    outbox_relay()  # what the queued task runs: it clears the flag before reading
    outbox_kick()

    assert queue.llen("celery") == 2


def test_a_row_committed_while_a_nudge_waits_is_relayed_by_that_nudge(
    use_broker, throwaway_redis, django_capture_on_commit_callbacks
):
    use_broker(throwaway_redis.url)
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        enqueue("first")  # its nudge is queued after the commit
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        enqueue("second")  # its nudge is skipped

    published = outbox_relay()

    assert published == 2
    assert redis.Redis.from_url(throwaway_redis.url).llen("celery") == 1 + 2  # 1 nudge


def test_a_failed_nudge_does_not_hold_back_the_next(use_broker, throwaway_redis):
    use_broker(f"redis://127.0.0.1:{free_port()}/0")
    outbox_kick()  # broker down: logged, and the flag is cleared again
    use_broker(throwaway_redis.url)

    outbox_kick()

    assert redis.Redis.from_url(throwaway_redis.url).llen("celery") == 1


def test_the_outbox_row_is_written_once_per_key():
    with transaction.atomic():
        enqueue("same")
        enqueue("same")

    assert OutboxMessage.objects.filter(dedup_key="same").count() == 1
