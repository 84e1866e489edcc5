"""The CMDB: CI classes with attribute schemas, configuration items, typed relationships,
baselines and import jobs (ISO/IEC 20000-1:2018 8.2.5 assets, 8.2.6 configuration, 8.2.4
service catalogue: services are CIs of service classes).
"""

import pghistory
from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, FSMModelMixin, transition

from core.links import record_url

from .choices import (
    AttributeType,
    CIStatus,
    Criticality,
    Environment,
    ImpactPropagation,
    ImportFormat,
    ImportStatus,
    ServiceKind,
)
from .querysets import ConfigurationItemQuerySet

STATUS_PERMISSION = "config_items.change_status_configurationitem"


@pghistory.track()
class CIClass(models.Model):
    """A kind of CI (server, virtual machine, application, business service...).

    Classes form a tree; a class inherits the attribute definitions of its ancestors, and a
    filter on a class includes its subclasses.
    """

    name = models.CharField(_("name"), max_length=100, unique=True)
    code = models.SlugField(_("code"), max_length=50, unique=True)
    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        verbose_name=_("parent class"),
    )
    description = models.TextField(_("description"), blank=True)
    icon = models.CharField(
        _("icon"), max_length=40, default="box", help_text=_("A Bootstrap Icons name.")
    )
    service_kind = models.CharField(
        _("service kind"), max_length=20, choices=ServiceKind.choices, blank=True, default=""
    )
    is_location = models.BooleanField(
        _("is a location"), default=False, help_text=_("CIs of this class can be locations.")
    )
    list_columns = models.JSONField(
        _("list columns"),
        default=list,
        blank=True,
        help_text=_("Attribute keys shown as columns when the CI list is filtered to this class."),
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("CI class")
        verbose_name_plural = _("CI classes")

    def __str__(self) -> str:
        return self.name

    @property
    def is_service(self) -> bool:
        return bool(self.service_kind)


@pghistory.track()
class AttributeDefinition(models.Model):
    """One attribute of a CI class's schema: key, type, required, choices, unit."""

    ci_class = models.ForeignKey(
        CIClass,
        on_delete=models.CASCADE,
        related_name="attribute_definitions",
        verbose_name=_("CI class"),
    )
    key = models.SlugField(_("key"), max_length=50)
    label = models.CharField(_("label"), max_length=100)
    type = models.CharField(
        _("type"), max_length=20, choices=AttributeType.choices, default=AttributeType.STRING
    )
    is_required = models.BooleanField(_("required"), default=False)
    choices = models.JSONField(
        _("choices"), default=list, blank=True, help_text=_("Allowed values for a choice.")
    )
    unit = models.CharField(_("unit"), max_length=20, blank=True)
    help_text = models.CharField(_("help text"), max_length=200, blank=True)
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        ordering = ["order", "key"]
        verbose_name = _("attribute definition")
        verbose_name_plural = _("attribute definitions")
        constraints = [
            models.UniqueConstraint(fields=["ci_class", "key"], name="ci_attribute_key_unique")
        ]

    def __str__(self) -> str:
        return f"{self.ci_class}.{self.key}"


@pghistory.track(
    pghistory.InsertEvent(),
    pghistory.UpdateEvent(),
    pghistory.DeleteEvent(),
)
class ConfigurationItem(FSMModelMixin, models.Model):
    """A configuration item: anything under configuration control, services included."""

    name = models.CharField(_("name"), max_length=200)
    ci_class = models.ForeignKey(
        CIClass, on_delete=models.PROTECT, related_name="items", verbose_name=_("class")
    )
    status = FSMField(
        _("status"),
        max_length=20,
        choices=CIStatus.choices,
        default=CIStatus.PLANNED,
        protected=True,
    )
    environment = models.CharField(
        _("environment"),
        max_length=20,
        choices=Environment.choices,
        default=Environment.PRODUCTION,
    )
    criticality = models.CharField(
        _("criticality"), max_length=20, choices=Criticality.choices, default=Criticality.MEDIUM
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="owned_cis",
        verbose_name=_("owner"),
    )
    support_group = models.ForeignKey(
        "accounts.SupportGroup",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="cis",
        verbose_name=_("support group"),
    )
    organisations = models.ManyToManyField(
        "accounts.Organisation",
        blank=True,
        related_name="cis",
        verbose_name=_("organisations served"),
    )
    location = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="located_items",
        verbose_name=_("location"),
    )
    serial_number = models.CharField(_("serial number"), max_length=100, blank=True)
    asset_tag = models.CharField(_("asset tag"), max_length=100, blank=True)
    attributes = models.JSONField(_("attributes"), default=dict, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = ConfigurationItemQuerySet.as_manager()

    class Meta:
        ordering = ["name", "pk"]
        verbose_name = _("configuration item")
        verbose_name_plural = _("configuration items")
        constraints = [
            models.UniqueConstraint(
                "ci_class",
                Lower("name"),
                name="ci_name_unique_in_class",
                violation_error_message=_("A CI of this class already has this name."),
            ),
        ]
        indexes = [
            models.Index(fields=["ci_class", "name"]),
            models.Index(Lower("name"), name="ci_name_lower_idx"),
            models.Index(fields=["status"]),
            GinIndex(fields=["attributes"], name="ci_attributes_gin", opclasses=["jsonb_path_ops"]),
            models.Index(
                fields=["serial_number"], condition=~Q(serial_number=""), name="ci_serial_idx"
            ),
            models.Index(fields=["asset_tag"], condition=~Q(asset_tag=""), name="ci_asset_tag_idx"),
        ]
        permissions = [
            ("import_configurationitem", _("Can import configuration items")),
            ("change_status_configurationitem", _("Can change the status of configuration items")),
            ("manage_baseline", _("Can create baselines")),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return record_url("config_items:ci_detail", self.pk)

    @transition(
        field=status,
        source=CIStatus.PLANNED,
        target=CIStatus.IN_BUILD,
        permission=STATUS_PERMISSION,
    )
    def build(self):
        pass

    @transition(
        field=status,
        source=[CIStatus.PLANNED, CIStatus.IN_BUILD, CIStatus.MAINTENANCE],
        target=CIStatus.LIVE,
        permission=STATUS_PERMISSION,
    )
    def go_live(self):
        pass

    @transition(
        field=status,
        source=CIStatus.LIVE,
        target=CIStatus.MAINTENANCE,
        permission=STATUS_PERMISSION,
    )
    def start_maintenance(self):
        pass

    @transition(
        field=status,
        source=[CIStatus.PLANNED, CIStatus.IN_BUILD, CIStatus.LIVE, CIStatus.MAINTENANCE],
        target=CIStatus.RETIRED,
        permission=STATUS_PERMISSION,
    )
    def retire(self):
        pass


@pghistory.track()
class RelationshipType(models.Model):
    """A directed relationship kind with a name for each direction ("depends on" / "used by").

    `impact` says which way a failure travels, which drives impact analysis.
    """

    code = models.SlugField(_("code"), max_length=50, unique=True)
    forward_name = models.CharField(_("forward name"), max_length=60)
    reverse_name = models.CharField(_("reverse name"), max_length=60)
    impact = models.CharField(
        _("impact propagation"),
        max_length=20,
        choices=ImpactPropagation.choices,
        default=ImpactPropagation.TARGET_TO_SOURCE,
    )
    description = models.TextField(_("description"), blank=True)

    class Meta:
        ordering = ["forward_name"]
        verbose_name = _("relationship type")
        verbose_name_plural = _("relationship types")

    def __str__(self) -> str:
        return f"{self.forward_name} / {self.reverse_name}"


@pghistory.track(pghistory.InsertEvent(), pghistory.DeleteEvent())
class Relationship(models.Model):
    """source —type→ target, e.g. "CRM app" runs on "web-01". Cycles are allowed."""

    source = models.ForeignKey(
        ConfigurationItem,
        on_delete=models.CASCADE,
        related_name="outgoing",
        verbose_name=_("source"),
    )
    target = models.ForeignKey(
        ConfigurationItem,
        on_delete=models.CASCADE,
        related_name="incoming",
        verbose_name=_("target"),
    )
    type = models.ForeignKey(
        RelationshipType,
        on_delete=models.PROTECT,
        related_name="relationships",
        verbose_name=_("type"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("relationship")
        verbose_name_plural = _("relationships")
        constraints = [
            models.UniqueConstraint(
                fields=["source", "target", "type"],
                name="ci_relationship_unique",
                violation_error_message=_("This relationship already exists."),
            ),
            models.CheckConstraint(
                condition=~Q(source=models.F("target")),
                name="ci_relationship_not_self",
                violation_error_message=_("A CI cannot be related to itself."),
            ),
        ]
        indexes = [models.Index(fields=["target", "type"])]

    def __str__(self) -> str:
        return f"{self.source} {self.type.forward_name} {self.target}"


class Baseline(models.Model):
    """A named snapshot of a set of CIs, to compare the configuration against later."""

    name = models.CharField(_("name"), max_length=150, unique=True)
    description = models.TextField(_("description"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("baseline")
        verbose_name_plural = _("baselines")

    def __str__(self) -> str:
        return self.name


class BaselineItem(models.Model):
    """One CI as it was when the baseline was taken (fields, attributes, relationships)."""

    baseline = models.ForeignKey(Baseline, on_delete=models.CASCADE, related_name="items")
    ci = models.ForeignKey(
        ConfigurationItem, on_delete=models.CASCADE, related_name="baseline_items"
    )
    snapshot = models.JSONField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["baseline", "ci"], name="ci_baseline_item_unique")
        ]

    def __str__(self) -> str:
        return f"{self.baseline}: {self.ci_id}"


class ImportJob(models.Model):
    """A CSV/JSON import of CIs of one class: mapping, dry run, progress and report."""

    ci_class = models.ForeignKey(
        CIClass, on_delete=models.PROTECT, related_name="import_jobs", verbose_name=_("class")
    )
    format = models.CharField(_("format"), max_length=10, choices=ImportFormat.choices)
    source_name = models.CharField(_("file name"), max_length=255)
    content = models.BinaryField(editable=False)
    mapping = models.JSONField(
        _("column mapping"),
        default=dict,
        blank=True,
        help_text=_("Column name in the file → CI field or attribute key."),
    )
    key_field = models.CharField(
        _("match existing CIs by"),
        max_length=60,
        default="name",
        help_text=_("name, serial_number, asset_tag or an attribute key."),
    )
    is_dry_run = models.BooleanField(_("dry run"), default=True)
    status = models.CharField(
        _("status"), max_length=20, choices=ImportStatus.choices, default=ImportStatus.PENDING
    )
    total_rows = models.PositiveIntegerField(_("rows"), default=0)
    processed_rows = models.PositiveIntegerField(_("processed rows"), default=0)
    created_count = models.PositiveIntegerField(_("created"), default=0)
    updated_count = models.PositiveIntegerField(_("updated"), default=0)
    unchanged_count = models.PositiveIntegerField(_("unchanged"), default=0)
    error_count = models.PositiveIntegerField(_("rows with errors"), default=0)
    relationship_count = models.PositiveIntegerField(_("relationships"), default=0)
    errors = models.JSONField(_("errors"), default=list, blank=True)
    failure = models.TextField(_("failure"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("import job")
        verbose_name_plural = _("import jobs")

    def __str__(self) -> str:
        return f"{self.source_name} ({self.get_status_display()})"

    @property
    def progress_percent(self) -> int:
        if not self.total_rows:
            return 100 if self.status == ImportStatus.DONE else 0
        return min(100, round(100 * self.processed_rows / self.total_rows))
