"""REST endpoints of accounts: token sign-in, the current user, reference lists, API tokens."""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import authenticate
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.permissions import ActionPermissions, ModelPermissions
from core.api.serializers import ErrorSerializer
from core.api.throttling import ScopedRateThrottle
from core.exceptions import DomainError

from .. import selectors, services
from ..filters import ApiTokenFilterSet, OrganisationFilterSet, SupportGroupFilterSet, UserFilterSet
from ..models import ApiToken, Organisation, SupportGroup, User
from .serializers import (
    ApiTokenCreatedSerializer,
    ApiTokenCreateInputSerializer,
    ApiTokenSerializer,
    MeSerializer,
    MeUpdateInputSerializer,
    OrganisationSerializer,
    SupportGroupSerializer,
    TokenObtainInputSerializer,
    TokenObtainSerializer,
    UserSerializer,
)

_ERRORS = {
    400: OpenApiResponse(ErrorSerializer, description=_("Invalid input.")),
    401: OpenApiResponse(ErrorSerializer, description=_("Not signed in.")),
    403: OpenApiResponse(ErrorSerializer, description=_("Not allowed.")),
}


def _user_queryset():
    return User.objects.select_related("organisation").prefetch_related("groups", "support_groups")


class TokenObtainView(APIView):
    """Exchange a username (or email) and password for a new API token.

    Goes through Django's `authenticate`, so django-axes counts failures and locks the
    account out; throttled by the `auth_token` scope against password guessing.
    """

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth_token"

    @extend_schema(
        operation_id="auth_token_obtain",
        request=TokenObtainInputSerializer,
        responses={
            201: TokenObtainSerializer,
            400: OpenApiResponse(ErrorSerializer, description=_("Wrong credentials.")),
            429: OpenApiResponse(
                ErrorSerializer, description=_("Locked out or too many requests.")
            ),
        },
        examples=[
            OpenApiExample(
                "Sign in",
                value={"username": "jane@example.com", "password": "s3cret-passphrase"},
                request_only=True,
            )
        ],
        tags=["auth"],
    )
    def post(self, request):
        data = TokenObtainInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        django_request = request._request
        user = authenticate(
            django_request,
            username=data.validated_data["username"],
            password=data.validated_data["password"],
        )
        if user is None:
            if getattr(django_request, "axes_locked_out", False):
                # Answer in the API's error format ourselves; left set, the flag makes
                # AxesMiddleware swap this answer for its HTML lockout page.
                django_request.axes_locked_out = False
                raise DomainError(
                    _("Too many failed sign-in attempts; the account is locked for a while."),
                    code="locked_out",
                    status=status.HTTP_429_TOO_MANY_REQUESTS,
                )
            raise DomainError(
                _("Unable to sign in with these credentials."), code="invalid_credentials"
            )
        lifetime = timedelta(hours=settings.ITSM_API_LOGIN_TOKEN_HOURS)
        now = timezone.now()
        token, key = services.api_token_create(
            user=user,
            name=f"login {now:%Y-%m-%d %H:%M}",
            actor=user,
            expires_at=now + lifetime,
        )
        body = {"token": key, "expires_at": token.expires_at, "user": user}
        return Response(TokenObtainSerializer(body).data, status=status.HTTP_201_CREATED)


class MeView(GenericAPIView):
    """The signed-in user: roles, organisation, language and time zone."""

    permission_classes = [IsAuthenticated]
    serializer_class = MeSerializer

    def get_object(self):
        return _user_queryset().get(pk=self.request.user.pk)

    @extend_schema(responses={200: MeSerializer, 401: _ERRORS[401]}, tags=["accounts"])
    def get(self, request):
        return Response(MeSerializer(self.get_object()).data)

    @extend_schema(
        request=MeUpdateInputSerializer,
        responses={200: MeSerializer, 400: _ERRORS[400], 401: _ERRORS[401]},
        examples=[
            OpenApiExample(
                "Switch to Chinese, Shanghai time",
                value={"language": "zh-hans", "time_zone": "Asia/Shanghai"},
                request_only=True,
            )
        ],
        tags=["accounts"],
    )
    def patch(self, request):
        data = MeUpdateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.user_update_preferences(
            user=request.user, actor=request.user, **data.validated_data
        )
        return Response(MeSerializer(self.get_object()).data)


class OrganisationViewSet(viewsets.ReadOnlyModelViewSet):
    """Customer organisations; a customer sees only their own."""

    queryset = Organisation.objects.none()
    serializer_class = OrganisationSerializer
    permission_classes = [ModelPermissions]
    filterset_class = OrganisationFilterSet
    ordering_fields = ["pk", "name"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Organisation.objects.none()
        return selectors.organisation_list(user=self.request.user).prefetch_related("contacts")


class SupportGroupViewSet(viewsets.ReadOnlyModelViewSet):
    """Support groups that tickets are assigned to, with their members."""

    queryset = SupportGroup.objects.none()
    serializer_class = SupportGroupSerializer
    permission_classes = [ModelPermissions]
    filterset_class = SupportGroupFilterSet
    ordering_fields = ["pk", "name"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return SupportGroup.objects.none()
        return selectors.support_group_list(user=self.request.user)


class UserViewSet(viewsets.ReadOnlyModelViewSet):
    """Users, for agents and above (customers get 403: they lack accounts.view_user)."""

    queryset = User.objects.none()
    serializer_class = UserSerializer
    permission_classes = [ModelPermissions]
    filterset_class = UserFilterSet
    ordering_fields = ["pk", "username"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return User.objects.none()
        return _user_queryset().distinct()


class ApiTokenViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """API tokens: managers of tokens see, create and revoke all; others see their own.

    A user may also revoke one of their own tokens (the queryset already limits which).
    """

    queryset = ApiToken.objects.none()
    serializer_class = ApiTokenSerializer
    permission_classes = [ActionPermissions]
    action_permissions = {"create": ["accounts.manage_api_tokens"]}
    filterset_class = ApiTokenFilterSet
    ordering_fields = ["pk", "created_at"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ApiToken.objects.none()
        return selectors.api_token_list(user=self.request.user)

    @extend_schema(
        request=ApiTokenCreateInputSerializer,
        responses={201: ApiTokenCreatedSerializer, **_ERRORS},
        examples=[
            OpenApiExample(
                "Token for the monitoring integration",
                value={"user": 7, "name": "monitoring", "expires_at": "2030-01-01T00:00:00Z"},
                request_only=True,
            )
        ],
    )
    def create(self, request):
        data = ApiTokenCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        token, key = services.api_token_create(actor=request.user, **data.validated_data)
        token.key = key
        return Response(ApiTokenCreatedSerializer(token).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=None,
        responses={
            200: ApiTokenSerializer,
            **_ERRORS,
            404: OpenApiResponse(ErrorSerializer, description=_("No such token.")),
            409: OpenApiResponse(ErrorSerializer, description=_("Already revoked.")),
        },
    )
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        token = services.api_token_revoke(token=self.get_object(), actor=request.user)
        return Response(ApiTokenSerializer(token).data)
