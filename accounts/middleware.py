import zoneinfo

from django.utils import timezone, translation


def user_preferences_activate(request, user) -> None:
    """Activate a signed-in user's stored language and time zone for the rest of the
    request (they override the browser's language), or the default time zone for anyone
    else. `request` is Django's HttpRequest."""
    if user is None or not user.is_authenticated:
        timezone.deactivate()
        return
    translation.activate(user.language)
    request.LANGUAGE_CODE = translation.get_language()
    try:
        timezone.activate(zoneinfo.ZoneInfo(user.time_zone))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        timezone.deactivate()


class UserPreferencesMiddleware:
    """Activates the signed-in user's language and time zone for the request.

    Runs after authentication; LocaleMiddleware has already picked the browser's or the
    cookie's language, which the stored preference overrides for signed-in users. API
    tokens are authenticated later, by DRF: ApiTokenAuthentication does the same then.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user_preferences_activate(request, getattr(request, "user", None))
        return self.get_response(request)
