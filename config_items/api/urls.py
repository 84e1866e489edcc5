from rest_framework.routers import SimpleRouter

from . import views

app_name = "config_items-api"

router = SimpleRouter()
router.register("classes", views.CIClassViewSet, basename="ci-class")
router.register(
    "attribute-definitions", views.AttributeDefinitionViewSet, basename="attribute-definition"
)
router.register("relationship-types", views.RelationshipTypeViewSet, basename="relationship-type")
router.register("cis", views.ConfigurationItemViewSet, basename="ci")
router.register("relationships", views.RelationshipViewSet, basename="relationship")
router.register("imports", views.ImportJobViewSet, basename="import-job")
router.register("baselines", views.BaselineViewSet, basename="baseline")

urlpatterns = router.urls
