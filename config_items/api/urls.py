from rest_framework.routers import SimpleRouter

from . import views

app_name = "config_items-api"

router = SimpleRouter()
router.register("cmdb/classes", views.CIClassViewSet, basename="ci-class")
router.register(
    "cmdb/attribute-definitions", views.AttributeDefinitionViewSet, basename="attribute-definition"
)
router.register(
    "cmdb/relationship-types", views.RelationshipTypeViewSet, basename="relationship-type"
)
router.register("cmdb/cis", views.ConfigurationItemViewSet, basename="ci")
router.register("cmdb/relationships", views.RelationshipViewSet, basename="relationship")
router.register("cmdb/imports", views.ImportJobViewSet, basename="import-job")
router.register("cmdb/baselines", views.BaselineViewSet, basename="baseline")

urlpatterns = router.urls
