"""API-wide views: the offline Swagger UI and the JSON 404 for unknown API paths."""

from django.http import JsonResponse
from django.utils.translation import gettext as _
from django.views import defaults
from drf_spectacular.views import SpectacularSwaggerSplitView


class SwaggerUIView(SpectacularSwaggerSplitView):
    """Swagger UI served from /static/ (sidecar) with no inline script or style.

    The split view serves the initialiser as a separate same-origin script (`?script`),
    and our template drops the upstream inline <style>, so the strict CSP needs no
    'unsafe-inline' or nonce for this page.
    """

    template_name = "api/swagger_ui.html"


def page_not_found(request, exception):
    """404 handler: the API's error format under /api/, Django's page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse(
            {"code": "not_found", "detail": _("Not found."), "fields": {}}, status=404
        )
    return defaults.page_not_found(request, exception)
