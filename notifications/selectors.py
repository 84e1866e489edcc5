"""Read side of notifications: a user only ever reads their own."""

from django.db import connection
from django.db.models import QuerySet

from accounts.models import User

from .models import Notification


def notification_list(*, user: User) -> QuerySet[Notification]:
    """The user's notifications, newest first."""
    return Notification.objects.filter(recipient=user).order_by("-created_at", "-pk")


def notification_get(*, user: User, pk: int) -> Notification:
    """One of the user's notifications; another user's raises DoesNotExist (a 404)."""
    return Notification.objects.get(recipient=user, pk=pk)


# Written out: every page's bell shows the count, and the ORM's aggregate query costs
# several times PostgreSQL's work on the partial index of unread notifications.
_UNREAD_SQL = (
    f"SELECT count(*) FROM {Notification._meta.db_table} "  # noqa: S608 - the model's table
    "WHERE recipient_id = %s AND read_at IS NULL"
)


def notification_unread_count(*, user: User) -> int:
    """Unread notifications of the user (one COUNT on a partial index)."""
    with connection.cursor() as cursor:
        cursor.execute(_UNREAD_SQL, [user.pk])
        return cursor.fetchone()[0]
