from rest_framework.routers import SimpleRouter

from . import views

app_name = "incidents-api"

router = SimpleRouter()
router.register("", views.IncidentViewSet, basename="incident")  # under incidents/

urlpatterns = router.urls
