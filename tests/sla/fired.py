"""Test helpers for the SLA tick: deliver its outbox messages as the workers would."""

from datetime import datetime

from core.models import OutboxMessage
from sla.models import Clock, ClockDue
from sla.services import clock_escalate_handler, clock_fired_handler, clock_tick


def _deliver(topic: str, handler) -> int:
    messages = list(
        OutboxMessage.objects.filter(topic=topic, dispatched_at__isnull=True).order_by("pk")
    )
    for message in messages:
        handler(message)
        OutboxMessage.objects.filter(pk=message.pk).update(dispatched_at=message.created_at)
    return len(messages)


def escalations_deliver() -> int:
    """Run the handler of every sla.escalate message not delivered yet (oldest first) and
    mark it delivered; returns how many messages."""
    return _deliver("sla.escalate", clock_escalate_handler)


def fired_deliver() -> int:
    """Deliver every sla.fired message not delivered yet (oldest first), then the
    sla.escalate messages they announced; returns how many sla.fired messages."""
    delivered = _deliver("sla.fired", clock_fired_handler)
    escalations_deliver()
    return delivered


def tick(now, **kwargs) -> int:
    """`clock_tick` at `now`, then deliver its messages; returns the thresholds marked."""
    marked = clock_tick(now=now, **kwargs)
    fired_deliver()
    return marked


def dues_of(clock: Clock) -> list[tuple[int, datetime]]:
    """The clock's thresholds still to fire, as [(percent, due_at), ...] by percent."""
    return list(
        ClockDue.objects.filter(clock=clock).order_by("percent").values_list("percent", "due_at")
    )
