from django.contrib import admin

from .models import Attachment, Comment, NumberCounter, TicketEvent


class ReadOnlyAdmin(admin.ModelAdmin):
    """Ticket tables change only through services, which write the audit trail (STYLE.md §15)."""

    actions = None

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(TicketEvent)
class TicketEventAdmin(ReadOnlyAdmin):
    list_display = ["occurred_at", "content_type", "object_id", "event_type", "actor"]
    list_filter = ["event_type", "content_type"]
    list_select_related = ["actor", "content_type"]
    date_hierarchy = "occurred_at"


@admin.register(Comment)
class CommentAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "content_type", "object_id", "visibility", "author"]
    list_filter = ["visibility", "content_type"]
    list_select_related = ["author", "content_type"]


@admin.register(Attachment)
class AttachmentAdmin(ReadOnlyAdmin):
    list_display = ["uploaded_at", "name", "size", "mime_type", "is_public", "uploaded_by"]
    list_filter = ["is_public", "mime_type"]
    list_select_related = ["uploaded_by"]
    exclude = ["file"]


@admin.register(NumberCounter)
class NumberCounterAdmin(ReadOnlyAdmin):
    list_display = ["prefix", "last_value"]
