"""The transactional outbox: services record work for Celery here, in their transaction.

`outbox_enqueue` only writes a row; delivery to the broker happens after commit and, if
the broker was down, from the periodic relay (see core.tasks).
"""

from typing import Any

from django.db import transaction

from .models import OutboxMessage


def outbox_enqueue(*, topic: str, payload: dict[str, Any], dedup_key: str) -> None:
    """Record a message for the broker; a second call with the same key does nothing.

    Must run inside the transaction of the change it announces, so the message exists if
    and only if the change was committed.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("outbox_enqueue must run inside the transaction of the change")
    OutboxMessage.objects.bulk_create(
        [OutboxMessage(topic=topic, payload=payload, dedup_key=dedup_key[:200])],
        ignore_conflicts=True,
    )
