from django.db import models
from django.utils.translation import gettext_lazy as _


class AgreementKind(models.TextChoices):
    """Who the promise is made to (ISO/IEC 20000-1:2018 8.3.3, 8.3.4.2)."""

    SLA = "sla", _("Service level agreement")
    OLA = "ola", _("Operational level agreement")
    UC = "uc", _("Underpinning contract")


class AgreementStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    ACTIVE = "active", _("Active")
    EXPIRED = "expired", _("Expired")
    RETIRED = "retired", _("Retired")


class Metric(models.TextChoices):
    RESPONSE = "response", _("First response")
    RESOLUTION = "resolution", _("Resolution")
    AVAILABILITY = "availability", _("Availability")


class PauseReason(models.TextChoices):
    """Why a record waits; a target pauses its clock for the reasons it lists. The values
    are those of the records' pending reasons."""

    CUSTOMER = "awaiting_customer", _("Awaiting customer")
    VENDOR = "awaiting_vendor", _("Awaiting vendor")
    CHANGE = "awaiting_change", _("Awaiting change")


class ClockState(models.TextChoices):
    RUNNING = "running", _("Running")
    PAUSED = "paused", _("Paused")
    MET = "met", _("Met")
    BREACHED = "breached", _("Breached")
    CANCELLED = "cancelled", _("Cancelled")


LIVE_CLOCK_STATES = (ClockState.RUNNING, ClockState.PAUSED)


class ClockEventKind(models.TextChoices):
    STARTED = "started", _("Started")
    PAUSED = "paused", _("Paused")
    RESUMED = "resumed", _("Resumed")
    WARNING = "warning", _("Warning threshold reached")
    BREACHED = "breached", _("Breached")
    MET = "met", _("Stopped: met")
    MISSED = "missed", _("Stopped: breached")
    CANCELLED = "cancelled", _("Cancelled")
    RECOMPUTED = "recomputed", _("Recomputed")


class CalendarDayKind(models.TextChoices):
    HOLIDAY = "holiday", _("Holiday")
    WORKING_DAY = "working_day", _("Extra working day")


class Weekday(models.IntegerChoices):
    MONDAY = 0, _("Monday")
    TUESDAY = 1, _("Tuesday")
    WEDNESDAY = 2, _("Wednesday")
    THURSDAY = 3, _("Thursday")
    FRIDAY = 4, _("Friday")
    SATURDAY = 5, _("Saturday")
    SUNDAY = 6, _("Sunday")


class EscalationActionKind(models.TextChoices):
    NOTIFY_ASSIGNEE = "notify_assignee", _("Notify the assignee")
    NOTIFY_GROUP_MANAGER = "notify_group_manager", _("Notify the group manager")
    NOTIFY_USERS = "notify_users", _("Notify named users")
    RAISE_PRIORITY = "raise_priority", _("Raise the priority")
    REASSIGN_GROUP = "reassign_group", _("Reassign to a group")
