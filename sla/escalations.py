"""The escalation actions of SLA warnings and breaches (ISO/IEC 20000-1:2018 8.3.3:
action when service levels are not met): notify people, raise the priority, reassign.

Run by the outbox handler of topic sla.escalate on the default queue
(sla.services.clock_events_escalate), never inline in the tick or in the recording of
what it fired, so neither waits for notifications.
"""

from typing import Any

from accounts.models import User
from notifications.services import absolute_url, notification_deliver

from .choices import ClockEventKind, EscalationActionKind
from .models import ClockEvent, EscalationAction

NOTIFY_ACTIONS = (
    EscalationActionKind.NOTIFY_ASSIGNEE,
    EscalationActionKind.NOTIFY_GROUP_MANAGER,
    EscalationActionKind.NOTIFY_USERS,
)


def escalation_record(*, event: ClockEvent) -> Any:
    """The ticket the event's clock runs on (None if it is gone)."""
    clock = event.clock
    return clock.content_type.model_class().objects.filter(pk=clock.object_id).first()


def escalation_actions(*, event: ClockEvent) -> list[EscalationAction]:
    """The actions of the event's target at the event's threshold."""
    return list(
        EscalationAction.objects.filter(target_id=event.clock.target_id, at_percent=event.percent)
        .prefetch_related("users")
        .order_by("pk")
    )


def escalation_recipients(*, record: Any, actions: list[EscalationAction]) -> list[User]:
    """Who the notify actions of this threshold reach (active users only)."""
    ids: set[int] = set()
    for action in actions:
        if action.action == EscalationActionKind.NOTIFY_ASSIGNEE:
            if record.assignee_id:
                ids.add(record.assignee_id)
            elif record.assignment_group_id:
                ids.update(
                    User.objects.filter(support_groups=record.assignment_group_id).values_list(
                        "pk", flat=True
                    )
                )
        elif action.action == EscalationActionKind.NOTIFY_GROUP_MANAGER:
            manager_id = record.assignment_group.manager_id if record.assignment_group_id else None
            if manager_id:
                ids.add(manager_id)
        elif action.action == EscalationActionKind.NOTIFY_USERS:
            ids.update(user.pk for user in action.users.all())
    return list(User.objects.filter(pk__in=ids, is_active=True).order_by("pk"))


def escalation_notify(*, event: ClockEvent, record: Any, actions: list[EscalationAction]) -> int:
    """Notify the people the threshold's actions name; idempotent per event."""
    if record is None:
        return 0
    recipients = escalation_recipients(record=record, actions=actions)
    is_breach = event.kind == ClockEventKind.BREACHED
    template = "sla_breached" if is_breach else "sla_warning"
    path = record.get_absolute_url()

    def context_for(user: User) -> dict[str, Any]:
        return {
            "record": record,
            "clock": event.clock,
            "event": event,
            "path": path,
            "link": absolute_url(path),
        }

    return notification_deliver(
        topic=f"sla.{template[4:]}",
        dedup_key=f"sla:{event.pk}",
        recipients=recipients,
        template=f"notifications/{template}",
        context_for=context_for,
    )


def escalation_record_actions(
    *, event: ClockEvent, record: Any, actions: list[EscalationAction]
) -> None:
    """Raise the priority or reassign the record, through its process's own service
    (which audits the change and re-applies the SLA matching rule)."""
    from .services import record_escalate_service

    actions = [a for a in actions if a.action not in NOTIFY_ACTIONS]
    if not actions or record is None:
        return
    escalate = record_escalate_service(record)
    for action in actions:
        escalate(
            record=record,
            priority=action.priority
            if action.action == EscalationActionKind.RAISE_PRIORITY
            else None,
            group=action.group if action.action == EscalationActionKind.REASSIGN_GROUP else None,
            reason=f"sla:{event.kind}:{event.percent}",
        )
