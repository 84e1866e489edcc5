from django.urls import path
from rest_framework.routers import SimpleRouter

from . import views

app_name = "accounts-api"

router = SimpleRouter()
router.register("accounts/organisations", views.OrganisationViewSet, basename="organisation")
router.register("accounts/support-groups", views.SupportGroupViewSet, basename="support-group")
router.register("accounts/users", views.UserViewSet, basename="user")
router.register("accounts/tokens", views.ApiTokenViewSet, basename="api-token")

urlpatterns = [
    path("auth/token/", views.TokenObtainView.as_view(), name="token-obtain"),
    path("accounts/me/", views.MeView.as_view(), name="me"),
    *router.urls,
]
