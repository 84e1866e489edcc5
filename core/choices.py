from django.db import models
from django.utils.translation import gettext_lazy as _


class Priority(models.IntegerChoices):
    """Ticket priority, 1 the most urgent; derived from impact x urgency by each process."""

    CRITICAL = 1, _("1 - Critical")
    HIGH = 2, _("2 - High")
    MODERATE = 3, _("3 - Moderate")
    LOW = 4, _("4 - Low")
    PLANNING = 5, _("5 - Planning")


class CommentVisibility(models.TextChoices):
    PUBLIC = "public", _("Public reply")
    WORK_NOTE = "work_note", _("Internal work note")


class EventType(models.TextChoices):
    """Kinds of audit events on a ticket (past tense, STYLE.md §5)."""

    CREATED = "created", _("Created")
    STATUS_CHANGED = "status_changed", _("Status changed")
    ASSIGNED = "assigned", _("Assigned")
    FIELD_CHANGED = "field_changed", _("Field changed")
    COMMENT_ADDED = "comment_added", _("Comment added")
    ATTACHMENT_ADDED = "attachment_added", _("Attachment added")
    SLA_WARNING = "sla_warning", _("SLA warning")
    SLA_BREACHED = "sla_breached", _("SLA breached")
    OUTAGE_RECORDED = "outage_recorded", _("Service outage recorded")
    OUTAGE_ENDED = "outage_ended", _("Service outage ended")
    MAJOR_UPDATE_LOGGED = "major_update_logged", _("Major incident update logged")
