"""Read side of notifications: a user only ever reads their own."""

from django.db.models import QuerySet

from accounts.models import User

from .models import Notification


def notification_list(*, user: User) -> QuerySet[Notification]:
    """The user's notifications, newest first."""
    return Notification.objects.filter(recipient=user).order_by("-created_at", "-pk")


def notification_get(*, user: User, pk: int) -> Notification:
    """One of the user's notifications; another user's raises DoesNotExist (a 404)."""
    return Notification.objects.get(recipient=user, pk=pk)


def notification_unread_count(*, user: User) -> int:
    """Unread notifications of the user (one COUNT on a partial index)."""
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()
