"""Test helpers for the SLA tick: deliver its outbox messages as a worker would."""

from core.models import OutboxMessage
from sla.models import Clock, ClockSchedule
from sla.services import clock_fired_handler, clock_tick


def fired_deliver() -> int:
    """Run the handler of every sla.fired message not delivered yet (oldest first) and
    mark it delivered; returns how many messages."""
    messages = list(
        OutboxMessage.objects.filter(topic="sla.fired", dispatched_at__isnull=True).order_by("pk")
    )
    for message in messages:
        clock_fired_handler(message)
        OutboxMessage.objects.filter(pk=message.pk).update(dispatched_at=message.created_at)
    return len(messages)


def tick(now, **kwargs) -> int:
    """`clock_tick` at `now`, then deliver its messages; returns the clocks marked."""
    marked = clock_tick(now=now, **kwargs)
    fired_deliver()
    return marked


def schedule_of(clock: Clock) -> ClockSchedule | None:
    return ClockSchedule.objects.filter(clock=clock).first()
