"""Admin of the CMDB: administrators extend the class schemas and relationship types here.

Configuration items, imports and baselines are read-mostly: their lifecycle and history
belong to the services (STYLE.md §15), so no admin action changes a CI's status.
"""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from core.admin import ReadOnlyAdmin

from .models import (
    AttributeDefinition,
    Baseline,
    BaselineItem,
    CIClass,
    ConfigurationItem,
    ImportJob,
    RelationshipType,
)


class AttributeDefinitionInline(admin.TabularInline):
    model = AttributeDefinition
    extra = 0
    fields = ["order", "key", "label", "type", "is_required", "choices", "unit", "help_text"]
    ordering = ["order", "key"]


@admin.register(CIClass)
class CIClassAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "parent", "service_kind", "is_location"]
    list_filter = ["service_kind", "is_location"]
    search_fields = ["name", "code"]
    list_select_related = ["parent"]
    prepopulated_fields = {"code": ["name"]}
    inlines = [AttributeDefinitionInline]


@admin.register(RelationshipType)
class RelationshipTypeAdmin(admin.ModelAdmin):
    list_display = ["code", "forward_name", "reverse_name", "impact"]
    search_fields = ["code", "forward_name", "reverse_name"]


@admin.register(ConfigurationItem)
class ConfigurationItemAdmin(admin.ModelAdmin):
    """Corrections of plain fields only; status, class and attributes change in the app."""

    list_display = ["name", "ci_class", "status", "environment", "criticality", "support_group"]
    list_filter = ["status", "environment", "criticality", "ci_class"]
    search_fields = ["name", "serial_number", "asset_tag"]
    list_select_related = ["ci_class", "support_group"]
    show_full_result_count = False
    autocomplete_fields = ["location"]
    raw_id_fields = ["owner"]
    readonly_fields = ["ci_class", "status", "attributes", "created_at", "updated_at"]
    fields = [
        "name",
        "ci_class",
        "status",
        "environment",
        "criticality",
        "owner",
        "support_group",
        "location",
        "organisations",
        "serial_number",
        "asset_tag",
        "attributes",
        "notes",
        "created_at",
        "updated_at",
    ]
    actions = None

    def has_add_permission(self, request):
        # New CIs go through ci_create, which validates the class's attributes.
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ImportJob)
class ImportJobAdmin(ReadOnlyAdmin):
    list_display = ["source_name", "ci_class", "is_dry_run", "status", "total_rows", "created_at"]
    list_filter = ["status", "is_dry_run"]
    list_select_related = ["ci_class"]
    exclude = ["content"]


class BaselineItemInline(admin.TabularInline):
    model = BaselineItem
    fields = ["ci", "snapshot"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name = _("CI in the baseline")
    verbose_name_plural = _("CIs in the baseline")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Baseline)
class BaselineAdmin(ReadOnlyAdmin):
    list_display = ["name", "created_by", "created_at"]
    search_fields = ["name"]
    inlines = [BaselineItemInline]
