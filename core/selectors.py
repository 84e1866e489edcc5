"""Read side of the shared ticket machinery: visibility and the merged timeline."""

from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldDoesNotExist
from django.db.models import QuerySet

from accounts.models import User

from .choices import CommentVisibility, EventType
from .db import CompiledQuery
from .models import Attachment, Comment, TicketBase, TicketEvent

# Event types a customer may see on their own ticket; field changes and assignments are
# internal working detail.
_CUSTOMER_EVENT_TYPES = {EventType.CREATED, EventType.STATUS_CHANGED}


def prefetched_set(instance, relation: str, rows: list) -> None:
    """Give a to-many relation of `instance` the rows the caller already knows (e.g. a
    record it has just created), as `prefetch_related` would leave them: reading
    `instance.<relation>.all()` then runs no query. Cheaper than a prefetch of an empty
    queryset, which still builds its SQL."""
    manager = getattr(instance, relation)
    queryset = manager.model._default_manager.none()
    queryset._result_cache = list(rows)
    queryset._prefetch_done = True
    # Many-to-many managers name their cache; reverse foreign keys use the field's.
    cache_name = (
        getattr(manager, "prefetch_cache_name", None) or manager.field.remote_field.cache_name
    )
    instance.__dict__.setdefault("_prefetched_objects_cache", {})[cache_name] = queryset


def ticket_is_visible(*, ticket: TicketBase, user: User) -> bool:
    """True if the ticket's own `visible_to(user)` rule lets the user see it."""
    return type(ticket).objects.visible_to(user).filter(pk=ticket.pk).exists()


def _comments(content_type_id: int, object_id: int, customer: bool) -> QuerySet[Comment]:
    qs = Comment.objects.filter(content_type_id=content_type_id, object_id=object_id)
    qs = qs.select_related("author")
    # Customers never see work notes.
    return qs.filter(visibility=CommentVisibility.PUBLIC) if customer else qs


def _attachments(content_type_id: int, object_id: int, customer: bool) -> QuerySet[Attachment]:
    qs = Attachment.objects.filter(content_type_id=content_type_id, object_id=object_id)
    qs = qs.select_related("uploaded_by")
    return qs.filter(is_public=True) if customer else qs


def _events(content_type_id: int, object_id: int, customer: bool) -> QuerySet[TicketEvent]:
    qs = TicketEvent.objects.filter(content_type_id=content_type_id, object_id=object_id)
    qs = qs.select_related("actor")
    return qs.filter(event_type__in=_CUSTOMER_EVENT_TYPES) if customer else qs


def comment_list(*, ticket: TicketBase, user: User) -> QuerySet[Comment]:
    """Comments of a ticket the user may read: customers never see work notes."""
    return _comments(_content_type_id(ticket), ticket.pk, user.is_customer)


def attachment_list(*, ticket: TicketBase, user: User) -> QuerySet[Attachment]:
    """Attachments of a ticket the user may download."""
    return _attachments(_content_type_id(ticket), ticket.pk, user.is_customer)


def attachment_get_for_download(*, pk: int, user: User) -> Attachment | None:
    """The attachment if the user may see both it and its ticket, else None."""
    attachment = Attachment.objects.select_related("content_type").filter(pk=pk).first()
    if attachment is None or (user.is_customer and not attachment.is_public):
        return None
    ticket = attachment.ticket
    if ticket is None or not ticket_is_visible(ticket=ticket, user=user):
        return None
    return attachment


def event_list(*, ticket: TicketBase, user: User) -> QuerySet[TicketEvent]:
    return _events(_content_type_id(ticket), ticket.pk, user.is_customer)


def _content_type_id(ticket: TicketBase) -> int:
    return ContentType.objects.get_for_model(ticket).pk


# The timeline's three statements, by whether the reader is a customer; compiled once per
# process (a ticket page reads them on every view). Comment and attachment events are left
# out: the comment or file itself is the entry.
_TIMELINE_QUERIES = {
    customer: (
        CompiledQuery(lambda ct, pk, c=customer: _comments(ct, pk, c), arity=2),
        CompiledQuery(lambda ct, pk, c=customer: _attachments(ct, pk, c), arity=2),
        CompiledQuery(
            lambda ct, pk, c=customer: _events(ct, pk, c).exclude(
                event_type__in=[EventType.COMMENT_ADDED, EventType.ATTACHMENT_ADDED]
            ),
            arity=2,
        ),
    )
    for customer in (False, True)
}


@dataclass(frozen=True)
class TimelineEntry:
    """One line of a ticket's timeline: a comment, an attachment or an audit event."""

    kind: str
    at: datetime
    actor: User | None
    item: Comment | Attachment | TicketEvent
    # Readable values of a status change ({"from", "to"}): the event stores state codes.
    labels: dict[str, str] = field(default_factory=dict)


def _state_labels(ticket: TicketBase) -> dict[str, str]:
    """State code -> translated label, from the concrete ticket's own status choices."""
    try:
        choices = type(ticket)._meta.get_field("status").choices or []
    except FieldDoesNotExist:
        return {}
    return {code: str(label) for code, label in choices}


def ticket_timeline(*, ticket: TicketBase, user: User) -> list[TimelineEntry]:
    """Comments, attachments and events of a ticket merged in time order, as the user may see.

    Comment/attachment events are left out: the comment or file itself is the entry.
    Three queries whatever the length of the history.
    """
    content_type_id = _content_type_id(ticket)
    comments, attachments, events = (
        query.list(content_type_id, ticket.pk) for query in _TIMELINE_QUERIES[user.is_customer]
    )
    entries = [TimelineEntry("comment", c.created_at, c.author, c) for c in comments]
    entries += [TimelineEntry("attachment", a.uploaded_at, a.uploaded_by, a) for a in attachments]
    states = _state_labels(ticket)
    entries += [
        TimelineEntry(
            "event",
            e.occurred_at,
            e.actor,
            e,
            labels={
                "from": states.get(e.data.get("from"), e.data.get("from")),
                "to": states.get(e.data.get("to"), e.data.get("to")),
            }
            if e.event_type == EventType.STATUS_CHANGED
            else {},
        )
        for e in events
    ]
    entries.sort(key=lambda entry: (entry.at, entry.item.pk))
    return entries
