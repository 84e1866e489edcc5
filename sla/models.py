"""Service level management (ISO/IEC 20000-1:2018 8.3.3; reporting 9.1): agreements and
their targets, business calendars, SLA clocks on tickets, their audit history, monthly
attainment rollups and service outages for availability.

How a clock keeps time (the rules an auditor needs, also in the README):
- A clock measures business time of one target on one ticket, in the target's calendar.
- `elapsed` is the business time of every running segment up to `segment_started_at`;
  the running segment since then is added on read. Pauses never count.
- A running clock has one narrow ClockDue row per threshold still to fire (warnings and
  100 = breach): the percent and `due_at`, the wall-clock moment it is reached if the
  clock keeps running. Every start, pause, resume, stop, target or calendar change
  deletes the clock's rows and writes them anew, so the beat tick only reads rows whose
  `due_at` has passed, deletes them as it marks them, and never writes the clock.
- Every change of a clock appends a ClockEvent; replaying the events with the calendar
  gives back `elapsed` (that is how priority, target and calendar changes recompute).
"""

import zoneinfo
from datetime import timedelta

import pghistory
from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.models import TicketAttached

from .choices import (
    AgreementKind,
    AgreementStatus,
    CalendarDayKind,
    ClockEventKind,
    ClockState,
    EscalationActionKind,
    Metric,
    PauseReason,
    Weekday,
)


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("Unknown time zone: %(zone)s"), params={"zone": value})


def default_thresholds() -> list[int]:
    return [50, 75, 90]


class BusinessCalendar(models.Model):
    """When the clock of a target runs: working hours per weekday in a time zone, minus
    holidays, plus extra working days (China's make-up working days, 调休). A 24x7
    calendar counts every second."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    description = models.TextField(_("description"), blank=True)
    time_zone = models.CharField(
        _("time zone"), max_length=64, default="UTC", validators=[validate_time_zone]
    )
    is_24x7 = models.BooleanField(
        _("24x7"), default=False, help_text=_("Every second counts; working hours are ignored.")
    )
    holiday_country = models.CharField(
        _("public holidays of"),
        max_length=10,
        blank=True,
        help_text=_(
            "Country code (e.g. CN, DE, US) whose public holidays and make-up working days "
            "are imported from the holidays library; empty for none."
        ),
    )
    # Bumped by every edit of the calendar, its hours or its days: clocks recompute.
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("business calendar")
        verbose_name_plural = _("business calendars")

    def __str__(self) -> str:
        return self.name


class WorkingInterval(models.Model):
    """One interval of working hours on a weekday, in the calendar's local time; a day may
    have several (09:00-12:00 and 13:30-18:00). An end of 00:00 means midnight (24:00)."""

    calendar = models.ForeignKey(
        BusinessCalendar,
        on_delete=models.CASCADE,
        related_name="intervals",
        verbose_name=_("calendar"),
    )
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices)
    start = models.TimeField(_("start"))
    end = models.TimeField(_("end"))

    class Meta:
        ordering = ["calendar", "weekday", "start"]
        verbose_name = _("working interval")
        verbose_name_plural = _("working intervals")
        constraints = [
            models.CheckConstraint(
                condition=Q(end__gt=models.F("start")) | Q(end="00:00"),
                name="sla_interval_end_after_start",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.start:%H:%M}-{self.end:%H:%M}"


class CalendarDay(models.Model):
    """A date that differs from the weekly pattern: a holiday (no working time) or an
    extra working day that works the hours of `hours_of` (a make-up day on a Saturday
    works a normal Monday). Imported days name their source; admins add their own."""

    calendar = models.ForeignKey(
        BusinessCalendar, on_delete=models.CASCADE, related_name="days", verbose_name=_("calendar")
    )
    date = models.DateField(_("date"))
    kind = models.CharField(_("kind"), max_length=20, choices=CalendarDayKind.choices)
    name = models.CharField(_("name"), max_length=200, blank=True)
    hours_of = models.PositiveSmallIntegerField(
        _("working hours of"),
        choices=Weekday.choices,
        default=Weekday.MONDAY,
        help_text=_("For an extra working day: whose weekday's hours apply."),
    )
    source = models.CharField(
        _("source"),
        max_length=40,
        blank=True,
        help_text=_("Empty when entered by hand; else the library it was imported from."),
    )

    class Meta:
        ordering = ["calendar", "date"]
        verbose_name = _("calendar day")
        verbose_name_plural = _("calendar days")
        constraints = [
            models.UniqueConstraint(fields=["calendar", "date"], name="sla_calendar_day_unique")
        ]

    def __str__(self) -> str:
        return f"{self.date:%Y-%m-%d} {self.get_kind_display()} {self.name}".strip()


class Agreement(models.Model):
    """A service level agreement (with customer organisations), an operational level
    agreement (with internal support groups) or an underpinning contract (with a
    supplier), covering services for a period, with its targets."""

    kind = models.CharField(_("kind"), max_length=10, choices=AgreementKind.choices)
    name = models.CharField(_("name"), max_length=200)
    reference = models.CharField(_("reference"), max_length=50, blank=True)
    description = models.TextField(_("description"), blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=AgreementStatus.choices, default=AgreementStatus.DRAFT
    )
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(_("valid to"), null=True, blank=True)
    services = models.ManyToManyField(
        "config_items.ConfigurationItem",
        blank=True,
        related_name="agreements",
        limit_choices_to=~Q(ci_class__service_kind=""),
        verbose_name=_("services"),
        help_text=_("Empty: every service."),
    )
    organisations = models.ManyToManyField(
        "accounts.Organisation",
        blank=True,
        related_name="agreements",
        verbose_name=_("customer organisations"),
        help_text=_("SLA: the customers it is agreed with; empty: every customer."),
    )
    support_groups = models.ManyToManyField(
        "accounts.SupportGroup",
        blank=True,
        related_name="agreements",
        verbose_name=_("support groups"),
        help_text=_("OLA: the internal groups it binds; empty: every group."),
    )
    supplier = models.CharField(
        _("supplier"), max_length=200, blank=True, help_text=_("Underpinning contract: who.")
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["kind", "name"]
        verbose_name = _("agreement")
        verbose_name_plural = _("agreements")
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gte=models.F("valid_from")),
                name="sla_agreement_period",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.name}"


class Target(models.Model):
    """One promise of an agreement: a metric (first response, resolution, availability),
    the records it applies to, a duration in business time of a calendar, warning
    thresholds and the escalation actions at each threshold and at breach.

    Empty conditions match everything. Matching rule: see `sla.services.target_match`.
    """

    agreement = models.ForeignKey(
        Agreement, on_delete=models.CASCADE, related_name="targets", verbose_name=_("agreement")
    )
    name = models.CharField(_("name"), max_length=200)
    metric = models.CharField(_("metric"), max_length=20, choices=Metric.choices)
    record_type = models.CharField(
        _("record type"),
        max_length=60,
        blank=True,
        help_text=_("app_label.model, e.g. incidents.incident; empty: every record type."),
    )
    priorities = ArrayField(
        models.PositiveSmallIntegerField(),
        verbose_name=_("priorities"),
        default=list,
        blank=True,
        help_text=_("Empty: every priority."),
    )
    services = models.ManyToManyField(
        "config_items.ConfigurationItem",
        blank=True,
        related_name="sla_targets",
        limit_choices_to=~Q(ci_class__service_kind=""),
        verbose_name=_("services"),
    )
    organisations = models.ManyToManyField(
        "accounts.Organisation",
        blank=True,
        related_name="sla_targets",
        verbose_name=_("organisations"),
    )
    categories = models.ManyToManyField(
        "incidents.Category",
        blank=True,
        related_name="sla_targets",
        verbose_name=_("categories"),
    )
    duration = models.DurationField(
        _("duration"), null=True, blank=True, help_text=_("Business time of the calendar.")
    )
    calendar = models.ForeignKey(
        BusinessCalendar,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="targets",
        verbose_name=_("business calendar"),
    )
    pause_on = ArrayField(
        models.CharField(max_length=20, choices=PauseReason.choices),
        verbose_name=_("pause while"),
        default=list,
        blank=True,
        help_text=_("The clock stops counting while the record waits for these."),
    )
    thresholds = ArrayField(
        models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(99)]),
        verbose_name=_("warning thresholds (%)"),
        default=default_thresholds,
        blank=True,
    )
    availability_percent = models.DecimalField(
        _("availability target (%)"), max_digits=7, decimal_places=4, null=True, blank=True
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["agreement", "metric", "name"]
        verbose_name = _("target")
        verbose_name_plural = _("targets")

    def __str__(self) -> str:
        return f"{self.agreement.name}: {self.name}"

    def clean(self) -> None:
        errors = {}
        if self.metric == Metric.AVAILABILITY:
            if self.availability_percent is None:
                errors["availability_percent"] = _("An availability target needs a percentage.")
        else:
            if not self.duration or self.duration.total_seconds() <= 0:
                errors["duration"] = _("A time target needs a positive duration.")
            if self.calendar_id is None:
                errors["calendar"] = _("A time target needs a business calendar.")
        if len(set(self.thresholds)) != len(self.thresholds):
            errors["thresholds"] = _("Each threshold may appear once.")
        if errors:
            raise ValidationError(errors)


class EscalationAction(models.Model):
    """What happens when a clock of a target reaches `at_percent` of its duration (100:
    the breach): notify people, raise the priority or reassign to a group."""

    target = models.ForeignKey(
        Target, on_delete=models.CASCADE, related_name="actions", verbose_name=_("target")
    )
    at_percent = models.PositiveSmallIntegerField(
        _("at (%)"),
        validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text=_("A warning threshold of the target, or 100 for the breach."),
    )
    action = models.CharField(_("action"), max_length=30, choices=EscalationActionKind.choices)
    users = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="+",
        verbose_name=_("users to notify"),
    )
    group = models.ForeignKey(
        "accounts.SupportGroup",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("reassign to group"),
    )
    priority = models.PositiveSmallIntegerField(
        _("raise priority to"), null=True, blank=True, validators=[MinValueValidator(1)]
    )

    class Meta:
        ordering = ["target", "at_percent", "pk"]
        verbose_name = _("escalation action")
        verbose_name_plural = _("escalation actions")

    def __str__(self) -> str:
        return f"{self.at_percent}%: {self.get_action_display()}"

    def clean(self) -> None:
        if self.action == EscalationActionKind.REASSIGN_GROUP and self.group_id is None:
            raise ValidationError({"group": _("Choose the group to reassign to.")})
        if self.action == EscalationActionKind.RAISE_PRIORITY and self.priority is None:
            raise ValidationError({"priority": _("Choose the priority to raise to.")})


class Clock(TicketAttached):
    """The SLA clock of one target on one ticket (see the module docstring)."""

    target = models.ForeignKey(
        Target, on_delete=models.PROTECT, related_name="clocks", verbose_name=_("target")
    )
    # Only live clocks are looked up by calendar (sla_clock_calendar_idx).
    calendar = models.ForeignKey(
        BusinessCalendar,
        on_delete=models.PROTECT,
        related_name="clocks",
        verbose_name=_("business calendar"),
        db_index=False,
    )
    # Denormalised from the target for the dashboards and the matching rule.
    kind = models.CharField(_("agreement kind"), max_length=10, choices=AgreementKind.choices)
    metric = models.CharField(_("metric"), max_length=20, choices=Metric.choices)
    state = models.CharField(
        _("state"), max_length=20, choices=ClockState.choices, default=ClockState.RUNNING
    )
    target_duration = models.DurationField(_("target duration"))
    started_at = models.DateTimeField(_("started at"))
    stopped_at = models.DateTimeField(_("stopped at"), null=True, blank=True)
    elapsed = models.DurationField(_("elapsed business time"))
    segment_started_at = models.DateTimeField(_("running since"), null=True, blank=True)
    paused_at = models.DateTimeField(_("paused at"), null=True, blank=True)
    pause_reason = models.CharField(
        _("pause reason"), max_length=20, choices=PauseReason.choices, blank=True
    )
    deadline_at = models.DateTimeField(_("breach at"), null=True, blank=True)
    breached_at = models.DateTimeField(_("breached at"), null=True, blank=True)
    match_reason = models.JSONField(_("why this target"), default=dict, blank=True)
    # Facts of the record the rollups group by, copied when the clock stops.
    service = models.ForeignKey(
        "config_items.ConfigurationItem",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("service"),
        db_index=False,
    )
    organisation = models.ForeignKey(
        "accounts.Organisation",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("organisation"),
        db_index=False,
    )
    support_group = models.ForeignKey(
        "accounts.SupportGroup",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("support group"),
        db_index=False,
    )
    priority = models.PositiveSmallIntegerField(_("priority"), null=True, blank=True)
    version = models.PositiveIntegerField(_("version"), default=1)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["started_at", "pk"]
        verbose_name = _("SLA clock")
        verbose_name_plural = _("SLA clocks")
        indexes = [
            models.Index(fields=["content_type", "object_id"], name="sla_clock_record_idx"),
            models.Index(
                fields=["calendar"],
                name="sla_clock_calendar_idx",
                condition=Q(state__in=["running", "paused"]),
            ),
            models.Index(fields=["stopped_at"], name="sla_clock_stopped_idx"),
            # Breaches, live or stopped, for the dashboard's breach list (by breach moment).
            models.Index(
                fields=["breached_at"],
                condition=Q(breached_at__isnull=False),
                name="sla_clock_breached_idx",
            ),
        ]
        constraints = [
            # One live clock per record, agreement kind and metric (the matching rule).
            models.UniqueConstraint(
                fields=["content_type", "object_id", "kind", "metric"],
                condition=Q(state__in=["running", "paused"]),
                name="sla_clock_one_live",
            )
        ]

    def __str__(self) -> str:
        return f"{self.target} ({self.get_state_display()})"

    @property
    def is_live(self) -> bool:
        return self.state in (ClockState.RUNNING, ClockState.PAUSED)


class ClockDue(models.Model):
    """One threshold still to fire of a running clock (a warning, or 100 = the breach) and
    the wall-clock moment it is reached if the clock keeps running. A narrow row apart from
    the wide clock, one per threshold, so the beat tick marks a threshold by deleting its
    row: no index entry is written (see the module docstring). Rows exist only while the
    clock runs."""

    pk = models.CompositePrimaryKey("clock", "percent")
    # The primary key's index serves lookups by clock.
    clock = models.ForeignKey(Clock, on_delete=models.CASCADE, related_name="dues", db_index=False)
    due_at = models.DateTimeField(_("due at"))
    percent = models.PositiveSmallIntegerField(_("threshold (%)"))

    class Meta:
        verbose_name = _("SLA clock threshold due")
        verbose_name_plural = _("SLA clock thresholds due")
        indexes = [models.Index(fields=["due_at"], name="sla_clockdue_due_idx")]

    def __str__(self) -> str:
        return f"{self.clock_id} {self.percent} %: {self.due_at:%Y-%m-%d %H:%M:%S}"


class ClockEvent(models.Model):
    """One step of a clock's history: started, paused, resumed, a warning, the breach,
    met, cancelled, recomputed. Enough to recompute the clock by hand. A warning or
    breach is unique per clock and threshold, so it is recorded once even when ticks
    overlap or retry; `handled_at` marks its escalation actions as done."""

    clock = models.ForeignKey(
        Clock,
        on_delete=models.CASCADE,
        related_name="events",
        verbose_name=_("clock"),
        db_index=False,  # sla_clockevent_clock_idx (clock, occurred_at) serves it
    )
    kind = models.CharField(_("event"), max_length=20, choices=ClockEventKind.choices)
    occurred_at = models.DateTimeField(_("occurred at"))
    percent = models.PositiveSmallIntegerField(_("threshold (%)"), null=True, blank=True)
    elapsed = models.DurationField(_("elapsed business time"))
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("actor"),
    )
    data = models.JSONField(_("data"), default=dict, blank=True)
    handled_at = models.DateTimeField(_("escalation handled at"), null=True, blank=True)

    class Meta:
        ordering = ["occurred_at", "pk"]
        verbose_name = _("SLA clock event")
        verbose_name_plural = _("SLA clock events")
        indexes = [models.Index(fields=["clock", "occurred_at"], name="sla_clockevent_clock_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["clock", "kind", "percent"],
                condition=Q(kind__in=["warning", "breached"]),
                name="sla_clockevent_threshold_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} at {self.occurred_at:%Y-%m-%d %H:%M:%S}"


class AttainmentRollup(models.Model):
    """Stopped clocks counted per month and dimension, maintained in the transaction that
    stops a clock, so dashboards over millions of records read a few thousand rows."""

    month = models.DateField(_("month"))
    target = models.ForeignKey(Target, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=10, choices=AgreementKind.choices)
    metric = models.CharField(max_length=20, choices=Metric.choices)
    record_type = models.CharField(max_length=60)
    service_id = models.BigIntegerField(null=True)
    organisation_id = models.BigIntegerField(null=True)
    support_group_id = models.BigIntegerField(null=True)
    priority = models.PositiveSmallIntegerField(null=True)
    met = models.PositiveIntegerField(default=0)
    breached = models.PositiveIntegerField(default=0)
    elapsed_total = models.DurationField(default=timedelta(0))

    class Meta:
        verbose_name = _("attainment rollup")
        verbose_name_plural = _("attainment rollups")
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "month",
                    "target",
                    "record_type",
                    "service_id",
                    "organisation_id",
                    "support_group_id",
                    "priority",
                ],
                nulls_distinct=False,
                name="sla_rollup_unique",
            )
        ]
        indexes = [models.Index(fields=["month"], name="sla_rollup_month_idx")]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.target_id}: {self.met}/{self.met + self.breached}"


@pghistory.track()
class ServiceOutage(models.Model):
    """A period during which a service was unavailable: unplanned (counts against
    availability) or an agreed maintenance window (excluded from the agreed time)."""

    service = models.ForeignKey(
        "config_items.ConfigurationItem",
        on_delete=models.PROTECT,
        related_name="outages",
        limit_choices_to=~Q(ci_class__service_kind=""),
        verbose_name=_("service"),
    )
    started_at = models.DateTimeField(_("started at"))
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    is_planned = models.BooleanField(
        _("agreed maintenance"), default=False, help_text=_("Excluded from the agreed time.")
    )
    incident = models.ForeignKey(
        "incidents.Incident",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="outages",
        verbose_name=_("incident"),
    )
    description = models.TextField(_("description"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["-started_at", "pk"]
        verbose_name = _("service outage")
        verbose_name_plural = _("service outages")
        indexes = [models.Index(fields=["service", "started_at"], name="sla_outage_service_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(ended_at__isnull=True) | Q(ended_at__gt=models.F("started_at")),
                name="sla_outage_period",
            )
        ]

    def __str__(self) -> str:
        return f"{self.service} {self.started_at:%Y-%m-%d %H:%M}"
