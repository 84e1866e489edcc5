"""Admin of incident management: administrators maintain the category tree, the priority
matrix and the assignment rules here.

Incidents and satisfaction ratings are read-mostly: their lifecycle and history belong to
the services (STYLE.md §15), so no admin action changes an incident's state.
"""

from django.contrib import admin

from core.admin import ReadOnlyAdmin

from .models import AssignmentRule, Category, Incident, PriorityMatrix, SatisfactionRating
from .services import incident_update


class SubcategoryInline(admin.TabularInline):
    model = Category
    fk_name = "parent"
    extra = 0
    fields = ["name", "is_active"]
    verbose_name_plural = "subcategories"


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["__str__", "parent", "is_active"]
    list_filter = ["is_active", ("parent", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["name", "parent__name"]
    list_select_related = ["parent"]
    inlines = [SubcategoryInline]

    def get_inlines(self, request, obj):
        # Only top-level categories have subcategories (two levels).
        return self.inlines if obj is None or obj.parent_id is None else []


@admin.register(PriorityMatrix)
class PriorityMatrixAdmin(admin.ModelAdmin):
    list_display = ["impact", "urgency", "priority"]
    list_editable = ["priority"]
    list_display_links = None
    ordering = ["impact", "urgency"]


@admin.register(AssignmentRule)
class AssignmentRuleAdmin(admin.ModelAdmin):
    list_display = ["order", "category", "service", "group", "is_round_robin", "is_active"]
    list_editable = ["is_round_robin", "is_active"]
    list_display_links = ["order"]
    list_filter = ["is_active", "group"]
    list_select_related = ["category__parent", "service", "group"]
    raw_id_fields = ["service"]


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):
    """Corrections of plain text only; state, assignment and timestamps change in the app."""

    list_display = [
        "number",
        "title",
        "status",
        "priority",
        "assignment_group",
        "assignee",
        "created_at",
    ]
    list_filter = ["status", "priority", "channel", "is_major"]
    search_fields = ["number", "title"]
    list_select_related = ["assignment_group", "assignee"]
    show_full_result_count = False
    date_hierarchy = "created_at"
    actions = None
    fields = [
        "number",
        "status",
        "version",
        "title",
        "description",
        "caller",
        "organisation",
        "channel",
        "service",
        "category",
        "subcategory",
        "impact",
        "urgency",
        "priority",
        "assignment_group",
        "assignee",
        "resolution_code",
        "resolution_notes",
        "reopen_count",
        "is_major",
        "major_incident_manager",
        "parent",
        "created_by",
        "created_at",
        "updated_at",
        "assigned_at",
        "first_response_at",
        "resolved_at",
        "closed_at",
    ]
    readonly_fields = [f for f in fields if f not in ("title", "description")]

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.is_ended:
            return self.fields  # as in the workspace: no edits once closed or cancelled
        return self.readonly_fields

    def save_model(self, request, obj, form, change):
        """A correction goes through the service, as one in the workspace does: the
        version moves on (an agent's open form is then refused as stale) and each changed
        field is an audit event."""
        changed = {name: form.cleaned_data[name] for name in form.changed_data}
        if changed:
            updated = incident_update(actor=request.user, incident=obj, **changed)
            obj.version = updated.version

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(SatisfactionRating)
class SatisfactionRatingAdmin(ReadOnlyAdmin):
    list_display = ["incident", "score", "rated_by", "created_at"]
    list_filter = ["score"]
    list_select_related = ["incident", "rated_by"]
