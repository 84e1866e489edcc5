"""The shared ticket machinery: abstract TicketBase and the tables every ticket type shares."""

from functools import cache

import pgtrigger
from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey, GenericRelation
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone
from django.utils.encoding import force_str
from django.utils.hashable import make_hashable
from django.utils.translation import gettext_lazy as _

from .choices import CommentVisibility, EventType, Priority


@cache
def _choice_labels(field) -> dict:
    return {make_hashable(value): label for value, label in field.flatchoices}


class ChoiceLabelsMixin(models.Model):
    """`get_<field>_display()` from a table of labels built once per field.

    Django builds a dict of the field's choices on every call, hashing each label, and a
    lazy label is translated to be hashed: a list of 25 incidents showing state and
    priority translated some 300 labels per page for the 50 it displays.
    """

    class Meta:
        abstract = True

    def _get_FIELD_display(self, field):  # noqa: N802 (Django's name)
        value = getattr(self, field.attname)
        label = _choice_labels(field).get(make_hashable(value), value)
        return force_str(label, strings_only=True)


class TicketBase(ChoiceLabelsMixin, models.Model):
    """Fields every ticket type shares; each concrete ticket declares its own FSM status.

    One table per ticket type, one level of inheritance only (STYLE.md §5).
    """

    number = models.CharField(_("number"), max_length=20, unique=True, editable=False)
    title = models.CharField(_("short description"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    priority = models.PositiveSmallIntegerField(
        _("priority"), choices=Priority.choices, default=Priority.MODERATE
    )
    assignment_group = models.ForeignKey(
        "accounts.SupportGroup",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="%(app_label)s_%(class)s_assigned",
        verbose_name=_("assignment group"),
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="%(app_label)s_%(class)s_assigned",
        verbose_name=_("assignee"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="%(app_label)s_%(class)s_created",
        verbose_name=_("created by"),
    )
    # A default rather than auto_now_add: a service may stamp a new ticket's other moments
    # (assigned_at, SLA clocks) from the same instant before its INSERT.
    created_at = models.DateTimeField(
        _("created at"), default=timezone.now, editable=False, db_index=True
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    # When the nearest live SLA clock breaches; kept by sla.services for "sort by SLA due".
    sla_due_at = models.DateTimeField(_("SLA due"), null=True, blank=True, editable=False)
    # Optimistic concurrency: every service write bumps it; a stale edit is refused.
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)

    comments = GenericRelation("core.Comment")
    attachments = GenericRelation("core.Attachment")
    events = GenericRelation("core.TicketEvent")

    # Each concrete ticket sets its number prefix, e.g. "INC".
    NUMBER_PREFIX: str = ""

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.number} {self.title}"

    @property
    def is_sla_overdue(self) -> bool:
        """The nearest running SLA clock has passed its breach moment."""
        return self.sla_due_at is not None and self.sla_due_at <= timezone.now()

    def sla_facts(self) -> dict:
        """What SLA targets match on (sla.services.target_match); ticket types add theirs
        (service, organisation, categories) and where the record stands."""
        return {
            "priority": self.priority,
            "support_group_id": self.assignment_group_id,
            "service_id": None,
            "organisation_id": None,
            "category_ids": [],
            "is_responded": False,
            "is_resolved": False,
            "pause_reason": "",
        }


class NumberCounter(models.Model):
    """The last number handed out per prefix; rows are locked while allocating."""

    prefix = models.CharField(max_length=10, unique=True)
    last_value = models.PositiveBigIntegerField(default=0)

    class Meta:
        verbose_name = _("number counter")
        verbose_name_plural = _("number counters")

    def __str__(self) -> str:
        return f"{self.prefix}: {self.last_value}"


class TicketAttached(models.Model):
    """Binds a row to any ticket by content type and id (STYLE.md §5)."""

    # No index of its own: every concrete model indexes (content_type, object_id, ...),
    # which serves lookups by content type too; a second one only slows each INSERT.
    content_type = models.ForeignKey(
        ContentType, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    object_id = models.PositiveBigIntegerField()
    ticket = GenericForeignKey("content_type", "object_id")

    class Meta:
        abstract = True


class Comment(TicketAttached):
    """A public reply (seen by the customer) or an internal work note on a ticket."""

    body = models.TextField(_("text"))
    visibility = models.CharField(
        _("visibility"),
        max_length=20,
        choices=CommentVisibility.choices,
        default=CommentVisibility.PUBLIC,
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="comments",
        verbose_name=_("author"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("comment")
        verbose_name_plural = _("comments")
        indexes = [models.Index(fields=["content_type", "object_id", "created_at"])]

    def __str__(self) -> str:
        return (
            f"{self.get_visibility_display()} by {self.author} at {self.created_at:%Y-%m-%d %H:%M}"
        )

    @property
    def is_public(self) -> bool:
        return self.visibility == CommentVisibility.PUBLIC


def attachment_upload_to(instance: "Attachment", filename: str) -> str:
    # The stored name never reuses the uploaded one: no path tricks, no collisions.
    return f"attachments/{instance.content_type_id}/{instance.object_id}/{instance.storage_key}"


class Attachment(TicketAttached):
    """A file attached to a ticket, optionally to one of its comments."""

    file = models.FileField(_("file"), upload_to=attachment_upload_to, max_length=255)
    storage_key = models.CharField(max_length=64, editable=False)
    name = models.CharField(_("file name"), max_length=255)
    size = models.PositiveBigIntegerField(_("size"))
    mime_type = models.CharField(_("type"), max_length=100)
    sha256 = models.CharField(max_length=64, editable=False)
    comment = models.ForeignKey(
        Comment,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="attachments",
        verbose_name=_("comment"),
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="attachments",
        verbose_name=_("uploaded by"),
    )
    uploaded_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)
    is_public = models.BooleanField(
        _("visible to the customer"),
        default=True,
        help_text=_("Attachments of internal work notes stay hidden from customers."),
    )

    class Meta:
        ordering = ["uploaded_at", "pk"]
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        indexes = [models.Index(fields=["content_type", "object_id", "uploaded_at"])]

    def __str__(self) -> str:
        return self.name


class TicketEvent(TicketAttached):
    """One entry of a ticket's audit trail: who did what, when, from which value to which.

    Append-only: a database trigger refuses UPDATE and DELETE, so the history an ISO/IEC
    20000 auditor reads cannot be rewritten, not even by the admin or raw SQL.
    """

    event_type = models.CharField(_("event"), max_length=40, choices=EventType.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="ticket_events",
        verbose_name=_("actor"),
        help_text=_("Empty when the system acted (a scheduled job, an integration rule)."),
    )
    occurred_at = models.DateTimeField(_("occurred at"), auto_now_add=True)
    data = models.JSONField(_("data"), default=dict, blank=True)

    class Meta:
        ordering = ["occurred_at", "pk"]
        verbose_name = _("ticket event")
        verbose_name_plural = _("ticket events")
        indexes = [models.Index(fields=["content_type", "object_id", "occurred_at"])]
        triggers = [
            pgtrigger.Protect(
                name="ticketevent_append_only",
                operation=pgtrigger.Update | pgtrigger.Delete,
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_event_type_display()} at {self.occurred_at:%Y-%m-%d %H:%M:%S}"


class OutboxMessage(models.Model):
    """Work for the message broker, written in the same transaction as the change it
    announces (transactional outbox): with Redis down, writes still succeed, and a relay
    hands every message to Celery once the broker is back. `dedup_key` makes enqueueing
    the same announcement twice a no-op."""

    topic = models.CharField(max_length=100)
    payload = models.JSONField(default=dict)
    # Unique by a constraint, not `unique=True`, which adds a LIKE index nobody queries.
    dedup_key = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    # Set by the delivery task once the handler ran: a task the broker lost (a restart
    # before its disk write, retries given up) leaves it empty, and the relay sends the
    # message again (core.outbox.REDELIVER_AFTER).
    delivered_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        verbose_name = _("outbox message")
        verbose_name_plural = _("outbox messages")
        indexes = [
            models.Index(
                fields=["created_at"],
                condition=models.Q(dispatched_at__isnull=True),
                name="outbox_pending_idx",
            ),
            models.Index(
                fields=["dispatched_at"],
                condition=models.Q(dispatched_at__isnull=False, delivered_at__isnull=True),
                name="outbox_undelivered_idx",
            ),
        ]
        constraints = [models.UniqueConstraint(fields=["dedup_key"], name="outbox_dedup_key")]

    def __str__(self) -> str:
        return f"{self.topic} {self.dedup_key}"


class SavedFilter(models.Model):
    """A list filter a user saved under a name (the query string of a list page), so a
    queue they check every day is one click away."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="saved_filters",
        verbose_name=_("owner"),
    )
    list_name = models.CharField(_("list"), max_length=50)
    name = models.CharField(_("name"), max_length=100)
    query_string = models.CharField(_("query string"), max_length=2000, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["name", "pk"]
        verbose_name = _("saved filter")
        verbose_name_plural = _("saved filters")
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "list_name", "name"], name="saved_filter_unique_name"
            )
        ]

    def __str__(self) -> str:
        return f"{self.list_name}: {self.name}"


class ConfigVersion(models.Model):
    """The version of one area of configuration (`sla`: agreements, targets, calendars).

    A statement trigger on each of the area's tables sets it from one sequence on every
    write, so a version is never handed out twice, not even after a rollback. Processes
    keep what they derive from an area (`core.config_cache`) and compare this version
    before each use: PostgreSQL stays the truth, the copy is never stale.
    """

    area = models.CharField(_("area"), max_length=50, primary_key=True)
    version = models.BigIntegerField(_("version"))

    class Meta:
        verbose_name = _("configuration version")
        verbose_name_plural = _("configuration versions")

    def __str__(self) -> str:
        return f"{self.area}: {self.version}"
