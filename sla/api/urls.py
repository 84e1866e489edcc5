from rest_framework.routers import SimpleRouter

app_name = "sla-api"

router = SimpleRouter()

urlpatterns = router.urls
