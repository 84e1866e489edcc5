import zoneinfo

from django.utils import timezone, translation


class UserPreferencesMiddleware:
    """Activates the signed-in user's language and time zone for the request.

    Runs after authentication; LocaleMiddleware has already picked the browser's or the
    cookie's language, which the stored preference overrides for signed-in users.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            translation.activate(user.language)
            request.LANGUAGE_CODE = translation.get_language()
            try:
                timezone.activate(zoneinfo.ZoneInfo(user.time_zone))
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                timezone.deactivate()
        else:
            timezone.deactivate()
        return self.get_response(request)
