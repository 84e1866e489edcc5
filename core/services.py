"""Write side of the shared ticket machinery: numbers, audit events, comments, attachments.

Only these functions create Comment, Attachment and TicketEvent rows (STYLE.md §5); process
apps call them from their own services, inside their own transaction.
"""

import hashlib
import mimetypes
import secrets
from functools import lru_cache
from pathlib import PurePath
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.files.uploadedfile import UploadedFile
from django.db import connection, transaction
from django.http import QueryDict
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

from accounts.models import User

from .choices import CommentVisibility, EventType
from .db import insert_values, inserted, rows_insert
from .exceptions import DomainError
from .models import Attachment, Comment, NumberCounter, SavedFilter, TicketBase, TicketEvent

# Content types we accept, by extension; anything else is refused, whatever the client
# claims. The browser's Content-Type header is not trusted.
_EXTRA_MIME_TYPES = {
    "log": "text/plain",
    "eml": "message/rfc822",
    "msg": "application/vnd.ms-outlook",
    "md": "text/markdown",
}


# Creates the prefix's counter on first use, else increments it under the row lock: one
# statement, no read-then-write race.
_COUNTERS = NumberCounter._meta.db_table
_COUNTER_NEXT_SQL = (
    f"INSERT INTO {_COUNTERS} (prefix, last_value) VALUES (%s, 1) "  # noqa: S608
    f"ON CONFLICT (prefix) DO UPDATE SET last_value = {_COUNTERS}.last_value + 1 "
    "RETURNING last_value"
)


def _in_create_transaction(name: str):
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        raise RuntimeError(f"{name} must run inside the create transaction")
    return connection


def ticket_number_next(*, prefix: str) -> str:
    """Allocate the next ticket number for a prefix, e.g. INC0000042.

    The counter row is locked by the UPDATE itself, so concurrent creators queue on it and
    never receive the same number; it must run inside the creating transaction so a
    rolled-back create gives its number back instead of leaving a gap.
    """
    connection = _in_create_transaction("ticket_number_next")
    with connection.cursor() as cursor:
        cursor.execute(_COUNTER_NEXT_SQL, [prefix])
        value = cursor.fetchone()[0]
    return f"{prefix}{value:07d}"


@lru_cache(maxsize=16)
def _ticket_insert_sql(model) -> tuple[str, tuple]:
    number = model._meta.get_field("number")
    fields = tuple(f for f in model._meta.concrete_fields if not f.primary_key and f != number)
    quote = connection.ops.quote_name
    digits = "last_value::text"
    # Names from the model's metadata, values as parameters; the number as
    # ticket_number_next formats it (seven digits at least).
    sql = (
        f"WITH counter AS ({_COUNTER_NEXT_SQL}) "  # noqa: S608
        f"INSERT INTO {quote(model._meta.db_table)} "
        f"({quote(number.column)}, {', '.join(quote(f.column) for f in fields)}) "
        f"VALUES ((SELECT %s || lpad({digits}, greatest(7, length({digits})), '0') "
        f"FROM counter), {', '.join(['%s'] * len(fields))}) "
        f"RETURNING {quote(model._meta.pk.column)}, {quote(number.column)}"
    )
    return sql, fields


def ticket_insert(ticket: TicketBase) -> None:
    """Write a new ticket with the next number of its model's NUMBER_PREFIX, in one
    statement: the counter as `ticket_number_next` allocates it, the row as `rows_insert`
    writes it (no signals). Sets the ticket's primary key and number. Inside the creating
    transaction, which holds the counter's row lock until it ends."""
    connection = _in_create_transaction("ticket_insert")
    sql, fields = _ticket_insert_sql(type(ticket))
    prefix = type(ticket).NUMBER_PREFIX
    with connection.cursor() as cursor:
        cursor.execute(sql, [prefix, prefix, *insert_values(ticket, fields)])
        pk, ticket.number = cursor.fetchone()
    inserted(ticket, pk)


def event_record(
    *,
    ticket: TicketBase,
    event_type: str,
    actor: User | None,
    data: dict[str, Any] | None = None,
) -> TicketEvent:
    """Append one audit event to a ticket's history (who, when, what, old and new values).

    `data` holds JSON-safe values, e.g. {"field": "priority", "old": 3, "new": 1} or
    {"from": "new", "to": "assigned"} for status changes.
    """
    event = TicketEvent(event_type=event_type, data=data or {})
    return events_record(ticket=ticket, actor=actor, events=[event])[0]


def events_record(
    *, ticket: TicketBase, actor: User | None, events: list[TicketEvent]
) -> list[TicketEvent]:
    """Append several audit events of one moment to a ticket's history in one INSERT
    (e.g. created and assigned); each event names its type and data."""
    content_type = ContentType.objects.get_for_model(ticket)
    for event in events:
        event.content_type = content_type
        event.object_id = ticket.pk
        event.actor = actor
    return rows_insert(events)


def ticket_changes_record(
    *, ticket: TicketBase, actor: User | None, old: dict[str, Any], new: dict[str, Any]
) -> list[TicketEvent]:
    """One field_changed event per field whose value differs between `old` and `new`."""
    return [
        event_record(
            ticket=ticket,
            event_type=EventType.FIELD_CHANGED,
            actor=actor,
            data={"field": field, "old": old.get(field), "new": value},
        )
        for field, value in new.items()
        if old.get(field) != value
    ]


def comment_add(
    *,
    ticket: TicketBase,
    actor: User,
    body: str,
    visibility: str = CommentVisibility.PUBLIC,
) -> Comment:
    """Add a public reply or an internal work note, and its audit event.

    Customers can only write public replies: a work note is for the support side.
    """
    body = (body or "").strip()
    if not body:
        raise DomainError(
            _("The comment is empty."),
            code="empty_comment",
            fields={"body": [str(_("This field is required."))]},
        )
    if visibility not in CommentVisibility.values:
        raise DomainError(
            _("Unknown visibility."),
            code="invalid_visibility",
            fields={"visibility": [str(_("Unknown visibility."))]},
        )
    if visibility == CommentVisibility.WORK_NOTE and actor.is_customer:
        raise DomainError(
            _("Customers cannot write internal work notes."), code="work_note_forbidden"
        )
    comment = Comment(
        content_type=ContentType.objects.get_for_model(ticket),
        object_id=ticket.pk,
        body=body,
        visibility=visibility,
        author=actor,
    )
    comment.full_clean()
    comment.save()
    event_record(
        ticket=ticket,
        event_type=EventType.COMMENT_ADDED,
        actor=actor,
        data={"comment_id": comment.pk, "visibility": visibility},
    )
    return comment


def attachment_validate(*, uploaded_file: UploadedFile) -> tuple[str, str]:
    """Check size and type of an upload; return its safe display name and MIME type."""
    name = PurePath((uploaded_file.name or "").replace("\\", "/")).name.strip()
    if not name or name.startswith("."):
        raise DomainError(
            _("The file has no usable name."),
            code="invalid_file_name",
            fields={"file": [str(_("The file has no usable name."))]},
        )
    max_bytes = settings.ITSM_ATTACHMENT_MAX_BYTES
    if uploaded_file.size > max_bytes:
        message = _("The file is too large (%(size)s); the limit is %(limit)s.") % {
            "size": filesizeformat(uploaded_file.size),
            "limit": filesizeformat(max_bytes),
        }
        raise DomainError(message, code="file_too_large", fields={"file": [str(message)]})
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    allowed = {e.lower() for e in settings.ITSM_ATTACHMENT_EXTENSIONS}
    if extension not in allowed:
        message = _("Files of type “.%(ext)s” are not accepted. Accepted: %(allowed)s.") % {
            "ext": extension or "?",
            "allowed": ", ".join(sorted(allowed)),
        }
        raise DomainError(message, code="file_type_refused", fields={"file": [str(message)]})
    mime_type = (
        _EXTRA_MIME_TYPES.get(extension)
        or mimetypes.guess_type(name)[0]
        or "application/octet-stream"
    )
    return name[:255], mime_type


def attachment_add(
    *,
    ticket: TicketBase,
    actor: User,
    uploaded_file: UploadedFile,
    comment: Comment | None = None,
    is_public: bool = True,
) -> Attachment:
    """Store an uploaded file on a ticket (size- and type-checked) and record the event.

    An attachment of a comment is visible as the comment is (a work note's is hidden from
    customers like the note itself); one without a comment as `is_public` says.
    """
    name, mime_type = attachment_validate(uploaded_file=uploaded_file)
    digest = hashlib.sha256()
    for chunk in uploaded_file.chunks():
        digest.update(chunk)
    uploaded_file.seek(0)
    is_public = comment.is_public if comment is not None else is_public
    attachment = Attachment(
        content_type=ContentType.objects.get_for_model(ticket),
        object_id=ticket.pk,
        storage_key=secrets.token_hex(16),
        name=name,
        size=uploaded_file.size,
        mime_type=mime_type,
        sha256=digest.hexdigest(),
        comment=comment,
        uploaded_by=actor,
        is_public=is_public,
    )
    attachment.file.save(attachment.storage_key, uploaded_file, save=False)
    try:
        attachment.save()
    except Exception:
        attachment.file.storage.delete(attachment.file.name)
        raise
    event_record(
        ticket=ticket,
        event_type=EventType.ATTACHMENT_ADDED,
        actor=actor,
        data={"attachment_id": attachment.pk, "name": name, "size": attachment.size},
    )
    return attachment


# ---------------------------------------------------------------- saved list filters

SAVED_FILTERS_PER_LIST = 50


def saved_filter_save(*, owner: User, list_name: str, name: str, query_string: str) -> SavedFilter:
    """Save (or overwrite, by name) the current filter of a list page for its owner.

    The query string is stored without paging cursors, so the filter opens on page one.
    """
    name = (name or "").strip()
    if not name:
        raise DomainError(
            _("Give the filter a name."), code="name_required", fields={"name": [_("Required.")]}
        )
    params = QueryDict((query_string or "").lstrip("?"), mutable=True)
    for cursor in ("after", "before", "page"):
        params.pop(cursor, None)
    query_string = params.urlencode()[:2000]
    existing = SavedFilter.objects.filter(owner=owner, list_name=list_name)
    if not existing.filter(name=name).exists() and existing.count() >= SAVED_FILTERS_PER_LIST:
        raise DomainError(
            _("You have saved too many filters for this list; delete some first."),
            code="too_many_filters",
        )
    saved, _created = SavedFilter.objects.update_or_create(
        owner=owner,
        list_name=list_name,
        name=name[:100],
        defaults={"query_string": query_string},
    )
    return saved


def saved_filter_delete(*, owner: User, pk: int) -> bool:
    """Delete one of the owner's saved filters; False if there was none (or not theirs)."""
    deleted, _rows = SavedFilter.objects.filter(owner=owner, pk=pk).delete()
    return deleted > 0
