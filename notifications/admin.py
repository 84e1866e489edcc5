from django.contrib import admin

from core.admin import ReadOnlyAdmin

from .models import Notification


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    """Read-only: notifications are written by the outbox handlers only."""

    list_display = ["recipient", "topic", "title", "created_at", "read_at", "emailed_at"]
    list_filter = ["topic"]
    search_fields = ["recipient__username", "title", "dedup_key"]
    list_select_related = ["recipient"]
