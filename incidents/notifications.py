"""Who hears about what in incident management, and with which message (ISO/IEC
20000-1:2018 8.6.1: keep users informed of progress; 8.3.2: customer communication).

Each handler is registered for one outbox topic (settings.ITSM_OUTBOX_HANDLERS), receives
the OutboxMessage, works out the recipients from the incident as it is now (and the
event's payload), and hands them to notifications.services.notification_deliver, which
is idempotent. The actor never hears about their own action; inactive users never hear.
"""

from collections.abc import Iterable
from typing import Any

from django.urls import NoReverseMatch, reverse

from accounts.choices import Role
from accounts.models import User
from config_items.selectors import ci_affected_services
from core.models import Comment, OutboxMessage
from notifications.services import absolute_url, notification_deliver

from .models import Incident, MajorIncidentUpdate


def _path(name: str, pk: int, fallback: str) -> str:
    # The incident pages are built alongside this module; links must work either way.
    try:
        return reverse(name, args=[pk])
    except NoReverseMatch:
        return fallback


def incident_path_for(incident: Incident, user: User, *, is_customer: bool) -> str:
    """The incident's page for this recipient: the portal for customers who may see it,
    the portal home for affected customers who may not, the workspace for staff."""
    if not is_customer:
        return _path("incidents:incident_detail", incident.pk, f"/incidents/{incident.pk}/")
    organisation = incident.organisation
    may_see = incident.caller_id == user.pk or (
        organisation is not None
        and organisation.shares_tickets
        and user.organisation_id == organisation.pk
    )
    if may_see:
        return _path("portal:incident_detail", incident.pk, f"/portal/incidents/{incident.pk}/")
    return reverse("portal:home")


def _incident(message: OutboxMessage) -> Incident | None:
    return (
        Incident.objects.select_related(
            "caller", "organisation", "assignment_group", "assignee", "service"
        )
        .filter(pk=message.payload.get("incident_id"))
        .first()
    )


def _recipients(user_ids: Iterable[int | None], actor_id: int | None) -> list[User]:
    ids = {pk for pk in user_ids if pk is not None and pk != actor_id}
    return list(User.objects.filter(pk__in=ids, is_active=True).order_by("pk"))


def _group_member_ids(group_id: int | None) -> list[int]:
    if group_id is None:
        return []
    return list(User.objects.filter(support_groups=group_id).values_list("pk", flat=True))


def _assignee_or_group(incident: Incident) -> list[int]:
    if incident.assignee_id:
        return [incident.assignee_id]
    return _group_member_ids(incident.assignment_group_id)


def _deliver(
    message: OutboxMessage,
    incident: Incident,
    recipients: list[User],
    template: str,
    **extra: Any,
) -> int:
    customer_ids = set(
        User.objects.filter(
            pk__in=[u.pk for u in recipients], groups__name=Role.CUSTOMER, is_superuser=False
        ).values_list("pk", flat=True)
    )
    actor = User.objects.filter(pk=message.payload.get("actor_id")).first()

    def context_for(user: User) -> dict[str, Any]:
        path = incident_path_for(incident, user, is_customer=user.pk in customer_ids)
        return {
            "incident": incident,
            "actor": actor,
            "is_customer": user.pk in customer_ids,
            "path": path,
            "link": absolute_url(path),
            **extra,
        }

    return notification_deliver(
        topic=message.topic,
        dedup_key=message.dedup_key,
        recipients=recipients,
        template=f"notifications/{template}",
        context_for=context_for,
    )


def incident_assigned_handler(message: OutboxMessage) -> None:
    """Assigned: the new assignee, or every member of the group when there is none."""
    incident = _incident(message)
    if incident is None:
        return
    payload = message.payload
    assignee_id = payload.get("assignee_id")
    ids = [assignee_id] if assignee_id else _group_member_ids(payload.get("group_id"))
    _deliver(message, incident, _recipients(ids, payload.get("actor_id")), "incident_assigned")


def incident_customer_replied_handler(message: OutboxMessage) -> None:
    """A customer replied: the assignee, or the group when nobody has it yet."""
    incident = _incident(message)
    if incident is None:
        return
    comment = Comment.objects.filter(pk=message.payload.get("comment_id")).first()
    recipients = _recipients(_assignee_or_group(incident), message.payload.get("actor_id"))
    _deliver(message, incident, recipients, "incident_customer_replied", comment=comment)


def incident_resolved_handler(message: OutboxMessage) -> None:
    """Resolved: the caller (who may confirm or reject it) and the watchers."""
    incident = _incident(message)
    if incident is None:
        return
    ids = [incident.caller_id, *incident.watchers.values_list("pk", flat=True)]
    _deliver(
        message,
        incident,
        _recipients(ids, message.payload.get("actor_id")),
        "incident_resolved",
    )


def incident_reopened_handler(message: OutboxMessage) -> None:
    """Reopened: the caller, the watchers, and whoever works on it (assignee or group)."""
    incident = _incident(message)
    if incident is None:
        return
    ids = [
        incident.caller_id,
        *incident.watchers.values_list("pk", flat=True),
        *_assignee_or_group(incident),
    ]
    _deliver(
        message,
        incident,
        _recipients(ids, message.payload.get("actor_id")),
        "incident_reopened",
    )


def major_incident_audience(incident: Incident) -> list[int]:
    """Everyone a major incident concerns: its manager, the group's manager and members,
    the callers of the incident and of its child incidents, and the members of every
    organisation served by a business service the incident's CIs and service affect."""
    ids: set[int] = {
        pk
        for pk in (
            incident.major_incident_manager_id,
            incident.assignee_id,
            incident.caller_id,
            incident.assignment_group.manager_id if incident.assignment_group_id else None,
        )
        if pk
    }
    ids.update(_group_member_ids(incident.assignment_group_id))
    ids.update(incident.children.values_list("caller_id", flat=True))
    ci_ids = list(incident.configuration_items.values_list("pk", flat=True))
    if incident.service_id:
        ci_ids.append(incident.service_id)
    if ci_ids:
        affected = ci_affected_services(ci_ids=ci_ids)
        organisation_ids = [organisation.pk for organisation in affected.organisations]
        if organisation_ids:
            ids.update(
                User.objects.filter(organisation_id__in=organisation_ids).values_list(
                    "pk", flat=True
                )
            )
    return sorted(ids)


def incident_major_declared_handler(message: OutboxMessage) -> None:
    """Major incident declared: managers, the group and the affected customers."""
    incident = _incident(message)
    if incident is None:
        return
    recipients = _recipients(major_incident_audience(incident), message.payload.get("actor_id"))
    _deliver(message, incident, recipients, "incident_major_declared")


def incident_major_update_handler(message: OutboxMessage) -> None:
    """A major incident communication: the same audience as the declaration."""
    incident = _incident(message)
    update = MajorIncidentUpdate.objects.filter(pk=message.payload.get("update_id")).first()
    if incident is None or update is None:
        return
    recipients = _recipients(major_incident_audience(incident), message.payload.get("actor_id"))
    _deliver(message, incident, recipients, "incident_major_update", update=update)
