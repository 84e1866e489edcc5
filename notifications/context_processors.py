"""The bell's unread count for every page, computed only if the page shows it."""

from functools import cache

from .selectors import notification_unread_count


def notifications(request) -> dict:
    """`notification_unread_count`: a callable the template calls, at most one query."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}

    @cache
    def unread() -> int:
        return notification_unread_count(user=user)

    return {"notification_unread_count": unread}
