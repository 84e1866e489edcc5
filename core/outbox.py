"""The transactional outbox: services record work for Celery here, in their transaction.

`outbox_enqueue` writes a row and, after commit, nudges the relay; `outbox_relay` (beat,
every few seconds, and each nudge) publishes one delivery task per undispatched row;
`outbox_deliver` runs the handler registered for the row's topic in ITSM_OUTBOX_HANDLERS,
on the queue ITSM_OUTBOX_QUEUES names for the topic (Celery's default queue otherwise).
With Redis down, writes still commit, rows wait, and the next relay after Redis returns
publishes them. Delivery is at least once; handlers are idempotent (STYLE.md §11).
"""

import smtplib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import redis
import structlog
from celery import current_app
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.module_loading import import_string
from kombu.exceptions import OperationalError

from .db import rows_insert
from .models import OutboxMessage

logger = structlog.get_logger(__name__)

# What a publish raises when the broker is unreachable.
BROKER_ERRORS = (OperationalError, redis.RedisError, OSError)
# What a handler may raise that is worth retrying later (SMTP server busy or unreachable).
TRANSIENT_DELIVERY_ERRORS = (
    smtplib.SMTPConnectError,
    smtplib.SMTPServerDisconnected,
    smtplib.SMTPSenderRefused,
    ConnectionError,
    TimeoutError,
)


def outbox_enqueue(*, topic: str, payload: dict[str, Any], dedup_key: str) -> None:
    """Record a message for the broker; a second call with the same key does nothing.

    Must run inside the transaction of the change it announces, so the message exists if
    and only if the change was committed. After commit the relay is nudged, so delivery
    normally starts at once rather than at the next beat tick.
    """
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        raise RuntimeError("outbox_enqueue must run inside the transaction of the change")
    rows_insert(
        [OutboxMessage(topic=topic, payload=payload, dedup_key=dedup_key[:200])],
        on_conflict_nothing=True,
    )
    outbox_kick_on_commit()


def outbox_kick_on_commit() -> None:
    """Nudge the relay after the current transaction commits; for code that wrote outbox
    rows itself (in SQL). One nudge per transaction is enough, however many messages it
    wrote."""
    connection = transaction.get_connection()
    if not any(entry[1] is outbox_kick for entry in connection.run_on_commit):
        transaction.on_commit(outbox_kick, robust=True)


@contextmanager
def _broker_connection() -> Iterator[Any]:
    """A pooled broker connection, failing at once if the broker is unreachable.

    kombu would otherwise retry connecting (sleeping 2 s between attempts) and hold the
    web request, or the relay's row locks, while Redis is down.
    """
    with current_app.pool.acquire(block=True, timeout=5) as connection:
        connection.ensure_connection(max_retries=0)
        yield connection


def _publish(task, *args: Any, connection: Any, queue: str | None = None) -> None:
    options = {"queue": queue} if queue else {}
    task.apply_async(args=args, retry=False, connection=connection, **options)


# Set (in the shared cache) while a nudged relay waits in the queue. The relay clears it
# before it reads any row, so a nudge that finds it set can be skipped: the queued relay
# will see that nudge's rows. Under load this turns one relay task per write into one per
# relay run. The timeout bounds what a lost task costs: nudges resume after it, and the
# beat relay runs meanwhile.
KICK_PENDING_KEY = "outbox:kick-pending"
KICK_PENDING_TIMEOUT = 10


def outbox_kick() -> None:
    """Ask a worker to run the relay now, unless a nudged relay has not started yet; a
    broker outage is logged, not raised (the beat relay picks the messages up once the
    broker is back)."""
    from .tasks import outbox_relay_task  # the tasks module imports this one

    # Without Redis the cache answers as if the flag was set now (core.cache): nudge anyway.
    if not cache.add(KICK_PENDING_KEY, 1, timeout=KICK_PENDING_TIMEOUT):
        return
    try:
        with _broker_connection() as connection:
            _publish(outbox_relay_task, connection=connection)
    except BROKER_ERRORS as exc:
        logger.warning("outbox_kick_failed", error=type(exc).__name__)
        _kick_pending_clear()  # the next nudge tries again


def _kick_pending_clear() -> None:
    cache.delete(KICK_PENDING_KEY)


# A message handed to the broker but not delivered this long after is sent again: the
# broker lost its task (Redis restarted before writing it to disk), or the task gave up
# its retries. Longer than a delivery's retries take (about ten minutes); handlers are
# idempotent, so a slow first delivery that still arrives notifies nobody twice.
REDELIVER_AFTER = timedelta(minutes=30)
# Sends before an undelivered message is left for someone to look at (its last_error).
MAX_ATTEMPTS = 5


def outbox_relay(
    *, batch_size: int = 200, max_batches: int = 50, topics: Iterable[str] | None = None
) -> int:
    """Publish one delivery task per undispatched message, oldest first; returns how many.

    Each delivery goes to the queue ITSM_OUTBOX_QUEUES maps its topic to, so a topic whose
    handling must not wait behind notifications has a worker of its own. `topics` limits
    the run to those topics (a task relaying the messages it has just written itself).
    Rows are locked FOR UPDATE SKIP LOCKED, so relays running in parallel (beat tick and
    nudges) never publish the same row at once. On a broker error the batch stops: the
    failing row records the attempt and the error, the rest wait for the next run.
    A message dispatched more than REDELIVER_AFTER ago and still not delivered is
    published again, up to MAX_ATTEMPTS sends.
    """
    from .tasks import outbox_deliver_task

    queues = settings.ITSM_OUTBOX_QUEUES
    lost = Q(
        delivered_at__isnull=True,
        dispatched_at__lt=timezone.now() - REDELIVER_AFTER,
        attempts__lt=MAX_ATTEMPTS,
    )
    pending = OutboxMessage.objects.filter(Q(dispatched_at__isnull=True) | lost)
    if topics is not None:
        pending = pending.filter(topic__in=list(topics))
    else:
        _kick_pending_clear()  # before reading: a nudge from now on queues a new relay
    published_total = 0
    for _batch in range(max_batches):
        with transaction.atomic():
            rows = list(
                pending.select_for_update(skip_locked=True)
                .order_by("created_at", "pk")
                .values_list("pk", "topic")[:batch_size]
            )
            if not rows:
                break
            published: list[int] = []
            error: Exception | None = None
            try:
                with _broker_connection() as connection:
                    for pk, topic in rows:
                        _publish(
                            outbox_deliver_task, pk, connection=connection, queue=queues.get(topic)
                        )
                        published.append(pk)
            except BROKER_ERRORS as exc:
                error = exc
            if published:
                OutboxMessage.objects.filter(pk__in=published).update(
                    dispatched_at=timezone.now(), attempts=F("attempts") + 1, last_error=""
                )
            if error is not None and len(published) < len(rows):
                failed_pk = rows[len(published)][0]
                OutboxMessage.objects.filter(pk=failed_pk).update(
                    attempts=F("attempts") + 1, last_error=repr(error)[:2000]
                )
                logger.warning("outbox_relay_broker_error", message_id=failed_pk, error=repr(error))
        published_total += len(published)
        if error is not None or len(rows) < batch_size:
            break
    return published_total


def outbox_purge(*, older_than: timedelta = timedelta(days=7)) -> int:
    """Delete messages delivered longer ago than `older_than`, and those given up on (sent
    MAX_ATTEMPTS times) as long ago; returns how many.

    Handlers are idempotent through their own keys, so old delivered rows serve only for
    diagnosis; undispatched and still undelivered rows are never deleted.
    """
    cutoff = timezone.now() - older_than
    done = Q(delivered_at__lt=cutoff) | Q(
        delivered_at__isnull=True, dispatched_at__lt=cutoff, attempts__gte=MAX_ATTEMPTS
    )
    deleted, _by_model = OutboxMessage.objects.filter(done).delete()
    return deleted


def outbox_deliver(*, message_id: int) -> None:
    """Run the handler registered for the message's topic (ITSM_OUTBOX_HANDLERS).

    A message that no longer exists or has no handler is logged and dropped: retrying
    would not help. Once the handler ran, the message is marked delivered.
    """
    message = OutboxMessage.objects.filter(pk=message_id).first()
    if message is None:
        logger.warning("outbox_message_missing", message_id=message_id)
        return
    handler_path = settings.ITSM_OUTBOX_HANDLERS.get(message.topic)
    if handler_path is None:
        logger.warning("outbox_topic_unhandled", topic=message.topic, message_id=message_id)
    else:
        import_string(handler_path)(message)
    OutboxMessage.objects.filter(pk=message_id).update(delivered_at=timezone.now())
