from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from core.api.views import SwaggerUIView
from core.views import HealthView

# Each app's API under its own prefix where it has one: a request is matched against the
# patterns of its app only, not against every router's before it.
api_v1 = [
    path("incidents/", include("incidents.api.urls")),
    path("cmdb/", include("config_items.api.urls")),
    path("sla/", include("sla.api.urls")),
    path("", include("core.api.urls")),
    path("", include("accounts.api.urls")),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SwaggerUIView.as_view(url_name="api-v1:schema"), name="docs"),
]

urlpatterns = [
    path("health/", HealthView.as_view(), name="health"),
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("portal/", include("portal.urls")),
    path("dashboard/", include("reports.urls")),
    path("cmdb/", include("config_items.urls")),
    path("incidents/", include("incidents.urls")),
    path("sla/", include("sla.urls")),
    path("notifications/", include("notifications.urls")),
    path("api/v1/", include((api_v1, "api-v1"))),
    path("", include("core.urls")),
]

admin.site.site_header = admin.site.site_title = "ITSM"
handler404 = "core.api.views.page_not_found"
if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
