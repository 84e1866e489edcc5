from rest_framework.routers import SimpleRouter

from . import views

app_name = "incidents-api"

router = SimpleRouter()
router.register("incidents", views.IncidentViewSet, basename="incident")

urlpatterns = router.urls
