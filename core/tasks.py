from celery import shared_task
from django.core.management import call_command

from .outbox import TRANSIENT_DELIVERY_ERRORS, outbox_deliver, outbox_purge, outbox_relay


@shared_task(name="core.tasks.session_cleanup_task")
def session_cleanup_task() -> None:
    """Delete expired sessions (Django's clearsessions); daily from beat."""
    call_command("clearsessions")


@shared_task(name="core.tasks.outbox_relay_task", ignore_result=True)
def outbox_relay_task() -> int:
    """Hand undispatched outbox messages to the broker (beat every few seconds, and a nudge
    after each commit that wrote one)."""
    return outbox_relay()


@shared_task(
    name="core.tasks.outbox_deliver_task",
    ignore_result=True,
    autoretry_for=TRANSIENT_DELIVERY_ERRORS,
    retry_backoff=10,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=6,
)
def outbox_deliver_task(message_id: int) -> None:
    """Deliver one outbox message through its topic's handler; idempotent, so a duplicate
    or a retry after a transient SMTP error sends nothing twice."""
    outbox_deliver(message_id=message_id)


@shared_task(name="core.tasks.outbox_purge_task", ignore_result=True)
def outbox_purge_task() -> int:
    """Delete outbox messages dispatched more than a week ago; daily from beat."""
    return outbox_purge()
