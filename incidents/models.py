"""Incident management (ISO/IEC 20000-1:2018 8.6.1): incidents on the shared ticket core,
their categories, the impact x urgency priority matrix, assignment rules, major-incident
communications and customer satisfaction ratings.
"""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, FSMModelMixin, transition

from core.links import record_url
from core.models import TicketBase

from .choices import (
    ENDED_STATUSES,
    OPEN_STATUSES,
    Channel,
    Impact,
    IncidentStatus,
    PendingReason,
    ResolutionCode,
    Urgency,
)
from .querysets import IncidentQuerySet


class Category(models.Model):
    """Incident category tree (category > subcategory), admin-managed."""

    name = models.CharField(_("name"), max_length=100)
    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        verbose_name=_("parent category"),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        constraints = [
            models.UniqueConstraint(
                "parent", "name", name="incident_category_unique", nulls_distinct=False
            )
        ]

    def __str__(self) -> str:
        return f"{self.parent.name} / {self.name}" if self.parent_id else self.name


class PriorityMatrix(models.Model):
    """One cell of the impact x urgency matrix that gives an incident its priority."""

    impact = models.PositiveSmallIntegerField(_("impact"), choices=Impact.choices)
    urgency = models.PositiveSmallIntegerField(_("urgency"), choices=Urgency.choices)
    priority = models.PositiveSmallIntegerField(
        _("priority"), validators=[MinValueValidator(1), MaxValueValidator(5)]
    )

    class Meta:
        ordering = ["impact", "urgency"]
        verbose_name = _("priority matrix cell")
        verbose_name_plural = _("priority matrix")
        constraints = [
            models.UniqueConstraint(fields=["impact", "urgency"], name="priority_matrix_unique")
        ]

    def __str__(self) -> str:
        return f"{self.impact} x {self.urgency} = {self.priority}"


class AssignmentRule(models.Model):
    """Routes new incidents to a support group by category and/or service; first match wins
    by `order`. With round robin, the member with the fewest open incidents gets it."""

    order = models.PositiveIntegerField(_("order"), default=100)
    category = models.ForeignKey(
        Category, on_delete=models.CASCADE, null=True, blank=True, verbose_name=_("category")
    )
    service = models.ForeignKey(
        "config_items.ConfigurationItem",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        limit_choices_to=~Q(ci_class__service_kind=""),
        verbose_name=_("service"),
    )
    group = models.ForeignKey(
        "accounts.SupportGroup", on_delete=models.CASCADE, verbose_name=_("assignment group")
    )
    is_round_robin = models.BooleanField(_("assign to a member (round robin)"), default=False)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["order", "pk"]
        verbose_name = _("assignment rule")
        verbose_name_plural = _("assignment rules")
        constraints = [
            models.CheckConstraint(
                condition=Q(category__isnull=False) | Q(service__isnull=False),
                name="assignment_rule_has_condition",
                violation_error_message=_("A rule needs a category or a service."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.order}: {self.category or ''} {self.service or ''} → {self.group}"


class Incident(FSMModelMixin, TicketBase):
    """An unplanned interruption or reduction in quality of a service."""

    NUMBER_PREFIX = "INC"
    SLA_ESCALATE_SERVICE = "incidents.services.incident_sla_escalate"

    status = FSMField(
        _("state"),
        max_length=20,
        choices=IncidentStatus.choices,
        default=IncidentStatus.NEW,
        protected=True,
    )
    # No single-column indexes where a composite index starts with the column
    # (incident_caller_idx, incident_org_idx): fewer indexes to plan and to maintain.
    caller = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        db_index=False,
        related_name="incidents_called",
        verbose_name=_("caller"),
    )
    organisation = models.ForeignKey(
        "accounts.Organisation",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        db_index=False,
        related_name="incidents",
        verbose_name=_("organisation"),
    )
    channel = models.CharField(
        _("channel"), max_length=20, choices=Channel.choices, default=Channel.PORTAL
    )
    service = models.ForeignKey(
        "config_items.ConfigurationItem",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="service_incidents",
        limit_choices_to=~Q(ci_class__service_kind=""),
        verbose_name=_("service"),
    )
    configuration_items = models.ManyToManyField(
        "config_items.ConfigurationItem",
        blank=True,
        related_name="incidents",
        verbose_name=_("configuration items"),
    )
    category = models.ForeignKey(
        Category,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="incidents",
        verbose_name=_("category"),
    )
    subcategory = models.ForeignKey(
        Category,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="sub_incidents",
        verbose_name=_("subcategory"),
    )
    impact = models.PositiveSmallIntegerField(
        _("impact"), choices=Impact.choices, default=Impact.MEDIUM
    )
    urgency = models.PositiveSmallIntegerField(
        _("urgency"), choices=Urgency.choices, default=Urgency.MEDIUM
    )
    watchers = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="watched_incidents",
        verbose_name=_("watchers"),
    )
    assigned_at = models.DateTimeField(_("assigned at"), null=True, blank=True)
    first_response_at = models.DateTimeField(_("first response at"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    pending_reason = models.CharField(
        _("pending reason"), max_length=30, choices=PendingReason.choices, blank=True
    )
    resolution_code = models.CharField(
        _("resolution code"), max_length=30, choices=ResolutionCode.choices, blank=True
    )
    resolution_notes = models.TextField(_("resolution notes"), blank=True)
    reopen_count = models.PositiveIntegerField(_("reopen count"), default=0)
    cancel_reason = models.TextField(_("cancellation reason"), blank=True)
    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        verbose_name=_("parent incident"),
    )
    is_major = models.BooleanField(_("major incident"), default=False)
    # Not indexed: only read with the incident (deleting a user scans instead).
    major_incident_manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        db_index=False,
        related_name="managed_major_incidents",
        verbose_name=_("major incident manager"),
    )

    objects = IncidentQuerySet.as_manager()

    class Meta:
        verbose_name = _("incident")
        verbose_name_plural = _("incidents")
        ordering = ["-created_at", "-pk"]
        indexes = [
            # Queues read open incidents only: partial indexes stay small as history grows.
            models.Index(
                fields=["assignment_group", "priority", "created_at"],
                condition=Q(status__in=OPEN_STATUSES),
                name="incident_open_group_idx",
            ),
            models.Index(
                fields=["assignee", "priority", "created_at"],
                condition=Q(status__in=OPEN_STATUSES),
                name="incident_open_assignee_idx",
            ),
            models.Index(
                fields=["priority", "created_at"],
                condition=Q(status__in=OPEN_STATUSES),
                name="incident_open_priority_idx",
            ),
            models.Index(
                fields=["sla_due_at"],
                condition=Q(status__in=OPEN_STATUSES),
                name="incident_open_sla_due_idx",
            ),
            # The "major incidents" queue and its count (a handful of rows).
            models.Index(
                fields=["priority", "created_at"],
                condition=Q(is_major=True, status__in=OPEN_STATUSES),
                name="incident_open_major_idx",
            ),
            models.Index(fields=["organisation", "created_at"], name="incident_org_idx"),
            models.Index(fields=["caller", "created_at"], name="incident_caller_idx"),
            models.Index(fields=["status", "resolved_at"], name="incident_status_resolved_idx"),
        ]
        # The trigram index for text search (UPPER(title) gin_trgm_ops, matching Django's
        # icontains) is created in migration 0001 by SQL, the bigram index for two-character
        # words (itsm_bigrams(UPPER(title))) in 0004, which also drops the varchar_pattern_ops
        # index Django adds for the unique number (numbers are only searched exactly).
        permissions = [
            ("assign_incident", _("Can assign incidents")),
            ("start_incident", _("Can start work on incidents")),
            ("pend_incident", _("Can put incidents on hold")),
            ("resume_incident", _("Can resume work on incidents")),
            ("resolve_incident", _("Can resolve incidents")),
            ("close_incident", _("Can close incidents")),
            ("reopen_incident", _("Can reopen incidents")),
            ("cancel_incident", _("Can cancel incidents")),
            ("declare_major_incident", _("Can declare major incidents")),
        ]

    def get_absolute_url(self) -> str:
        return record_url("incidents:incident_detail", self.pk)

    def sla_facts(self) -> dict:
        """What SLA targets match on, and where the record stands (sla.services)."""
        return {
            **super().sla_facts(),
            "service_id": self.service_id,
            "organisation_id": self.organisation_id,
            "category_ids": [pk for pk in (self.category_id, self.subcategory_id) if pk],
            "is_responded": self.first_response_at is not None,
            "is_resolved": self.status in (IncidentStatus.RESOLVED, IncidentStatus.CLOSED),
            "pause_reason": self.pending_reason if self.status == IncidentStatus.PENDING else "",
        }

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def is_ended(self) -> bool:
        """Closed or cancelled: nothing more is written on it."""
        return self.status in ENDED_STATUSES

    def has_assignee(self) -> bool:
        return self.assignee_id is not None

    def has_assignment(self) -> bool:
        return self.assignment_group_id is not None or self.assignee_id is not None

    @transition(
        field=status,
        source=[IncidentStatus.NEW, IncidentStatus.ASSIGNED],
        target=IncidentStatus.ASSIGNED,
        conditions=[has_assignment],
        permission="incidents.assign_incident",
    )
    def assign(self):
        pass

    @transition(
        field=status,
        source=[IncidentStatus.NEW, IncidentStatus.ASSIGNED],
        target=IncidentStatus.IN_PROGRESS,
        conditions=[has_assignee],
        permission="incidents.start_incident",
    )
    def start(self):
        pass

    @transition(
        field=status,
        source=IncidentStatus.IN_PROGRESS,
        target=IncidentStatus.PENDING,
        permission="incidents.pend_incident",
    )
    def pend(self):
        pass

    @transition(
        field=status,
        source=IncidentStatus.PENDING,
        target=IncidentStatus.IN_PROGRESS,
        permission="incidents.resume_incident",
    )
    def resume(self):
        self.pending_reason = ""

    @transition(
        field=status,
        source=[
            IncidentStatus.NEW,
            IncidentStatus.ASSIGNED,
            IncidentStatus.IN_PROGRESS,
            IncidentStatus.PENDING,
        ],
        target=IncidentStatus.RESOLVED,
        permission="incidents.resolve_incident",
    )
    def resolve(self):
        self.pending_reason = ""

    @transition(
        field=status,
        source=IncidentStatus.RESOLVED,
        target=IncidentStatus.CLOSED,
        permission="incidents.close_incident",
    )
    def close(self):
        pass

    @transition(
        field=status,
        source=IncidentStatus.RESOLVED,
        target=IncidentStatus.IN_PROGRESS,
        permission="incidents.reopen_incident",
    )
    def reopen(self):
        self.reopen_count += 1
        self.resolved_at = None
        self.resolution_code = ""

    @transition(
        field=status,
        source=[IncidentStatus.NEW, IncidentStatus.ASSIGNED, IncidentStatus.IN_PROGRESS],
        target=IncidentStatus.CANCELLED,
        permission="incidents.cancel_incident",
    )
    def cancel(self):
        pass


class MajorIncidentUpdate(models.Model):
    """An entry of a major incident's communications log (updates to affected customers)."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="major_updates")
    body = models.TextField(_("update"))
    is_sent_to_customers = models.BooleanField(_("sent to affected customers"), default=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("author"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("major incident update")
        verbose_name_plural = _("major incident updates")

    def __str__(self) -> str:
        return f"{self.incident.number} @ {self.created_at:%Y-%m-%d %H:%M}"


class SatisfactionRating(models.Model):
    """The customer's rating of a resolution, 1 (poor) to 5 (excellent) (8.3.2, 9.1)."""

    incident = models.OneToOneField(
        Incident, on_delete=models.CASCADE, related_name="rating", verbose_name=_("incident")
    )
    score = models.PositiveSmallIntegerField(
        _("rating"), validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    comment = models.TextField(_("comment"), blank=True)
    rated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("rated by"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("satisfaction rating")
        verbose_name_plural = _("satisfaction ratings")
        constraints = [
            models.CheckConstraint(
                condition=Q(score__gte=1, score__lte=5), name="satisfaction_score_range"
            )
        ]

    def __str__(self) -> str:
        return f"{self.incident.number}: {self.score}"
