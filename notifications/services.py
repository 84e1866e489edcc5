"""Write side of notifications: create them once per recipient and event, e-mail them once,
mark them read."""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import structlog
from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation

from accounts.models import User

from .models import Notification

logger = structlog.get_logger(__name__)


@dataclass(frozen=True)
class RenderedMessage:
    subject: str
    text: str
    html: str


def absolute_url(path: str) -> str:
    """A site path as a link that works from an e-mail client."""
    return settings.ITSM_BASE_URL.rstrip("/") + path


def notification_render(*, template: str, user: User, context: dict[str, Any]) -> RenderedMessage:
    """Subject, text and HTML of `template` (a folder of subject.txt, body.txt, body.html)
    in the recipient's language."""
    with translation.override(user.language or settings.LANGUAGE_CODE):
        context = {**context, "recipient": user}
        subject = render_to_string(f"{template}/subject.txt", context)
        text = render_to_string(f"{template}/body.txt", context)
        html = render_to_string(f"{template}/body.html", context)
    # A subject is one line; templates may wrap it for readability.
    return RenderedMessage(" ".join(subject.split())[:300], text.strip(), html)


def notification_deliver(
    *,
    topic: str,
    dedup_key: str,
    recipients: Iterable[User],
    template: str,
    context_for: Callable[[User], dict[str, Any]],
) -> int:
    """Notify each recipient of one event in the app and by e-mail; returns e-mails sent.

    Idempotent, so the outbox may deliver an event twice: the in-app rows are inserted
    with ON CONFLICT DO NOTHING on (recipient, dedup_key), and an e-mail goes only to rows
    not yet marked e-mailed, each under a row lock, so two deliveries running at once
    cannot both send it. A transient SMTP error propagates (the task retries); rows
    e-mailed before it stay marked.
    """
    rendered: dict[int, RenderedMessage] = {}
    rows = []
    for user in recipients:
        context = context_for(user)
        message = notification_render(template=template, user=user, context=context)
        rendered[user.pk] = message
        rows.append(
            Notification(
                recipient=user,
                topic=topic,
                title=message.subject,
                body=message.text,
                url=context.get("path", ""),
                dedup_key=dedup_key,
            )
        )
    if not rows:
        return 0
    Notification.objects.bulk_create(rows, ignore_conflicts=True)
    pending = list(
        Notification.objects.filter(
            dedup_key=dedup_key, recipient_id__in=rendered, emailed_at__isnull=True
        ).values_list("pk", flat=True)
    )
    sent = 0
    connection = None
    try:
        for pk in pending:
            with transaction.atomic():
                notification = (
                    Notification.objects.select_for_update(skip_locked=True)
                    .filter(pk=pk, emailed_at__isnull=True)
                    .select_related("recipient")
                    .first()
                )
                if notification is None:
                    continue
                email = notification.recipient.email
                if email:
                    connection = connection or get_connection()
                    message = rendered[notification.recipient_id]
                    mail = EmailMultiAlternatives(
                        subject=message.subject,
                        body=message.text,
                        to=[email],
                        connection=connection,
                    )
                    mail.attach_alternative(message.html, "text/html")
                    mail.send()
                    sent += 1
                notification.emailed_at = timezone.now()
                notification.save(update_fields=["emailed_at"])
    finally:
        if connection is not None:
            connection.close()
    logger.info("notifications_delivered", topic=topic, dedup_key=dedup_key, emails=sent)
    return sent


def notification_mark_read(*, actor: User, notification: Notification) -> Notification:
    """Mark one of the actor's notifications read (again is a no-op)."""
    if notification.recipient_id != actor.pk:
        raise PermissionError("not the recipient")
    if notification.read_at is None:
        notification.read_at = timezone.now()
        Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(
            read_at=notification.read_at
        )
    return notification


def notification_mark_all_read(*, actor: User) -> int:
    """Mark every unread notification of the actor read; returns how many."""
    return Notification.objects.filter(recipient=actor, read_at__isnull=True).update(
        read_at=timezone.now()
    )
