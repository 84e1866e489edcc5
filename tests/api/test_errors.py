"""Every API error answers {"code", "detail", "fields"} (core.api.exceptions)."""

import json

import pytest
from django.core.cache import cache
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework.permissions import AllowAny
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from accounts.services import api_token_create
from core.exceptions import DomainError


def _error(response, status):
    assert response.status_code == status, response.content
    body = json.loads(response.content)
    assert set(body) == {"code", "detail", "fields"}, body
    assert isinstance(body["detail"], str) and body["detail"]
    return body


class _RaisingView(APIView):
    """Stands in for any endpoint whose service raises."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []
    exc: Exception | None = None

    def post(self, request):
        raise self.exc


def _raise_through_view(exc):
    request = APIRequestFactory().post("/api/v1/x/", {}, format="json")
    response = _RaisingView.as_view(exc=exc)(request)
    response.render()
    return response


def test_invalid_json_is_400(api_client, db):
    response = api_client.post(
        "/api/v1/auth/token/", data="{not json", content_type="application/json"
    )

    assert _error(response, 400)["code"] == "parse_error"


def test_unknown_field_values_are_400_with_fields(api_client, agent):
    api_client.force_authenticate(agent)

    response = api_client.patch("/api/v1/accounts/me/", {"language": "klingon"})

    body = _error(response, 400)
    assert body["code"] == "invalid"
    assert list(body["fields"]) == ["language"]


def test_anonymous_is_401(api_client, db):
    body = _error(api_client.get("/api/v1/accounts/users/"), 401)

    assert body["code"] == "not_authenticated"


def test_bad_token_is_401(api_client, db):
    api_client.credentials(HTTP_AUTHORIZATION="Bearer nope")

    assert _error(api_client.get("/api/v1/accounts/me/"), 401)["code"] == "authentication_failed"


def test_malformed_authorization_header_is_401(api_client, db):
    api_client.credentials(HTTP_AUTHORIZATION="Bearer two parts")

    assert _error(api_client.get("/api/v1/accounts/me/"), 401)["code"] == "authentication_failed"


def test_missing_permission_is_403(api_client, customer_a):
    api_client.force_authenticate(customer_a)

    assert _error(api_client.get("/api/v1/accounts/users/"), 403)["code"] == "permission_denied"


def test_unknown_object_is_404(api_client, agent):
    api_client.force_authenticate(agent)

    assert _error(api_client.get("/api/v1/accounts/users/999999/"), 404)["code"] == "not_found"


def test_unknown_api_path_is_404_in_the_same_format(api_client, db):
    assert _error(api_client.get("/api/v1/no-such-endpoint/"), 404)["code"] == "not_found"


def test_wrong_method_is_405(api_client, agent):
    api_client.force_authenticate(agent)

    body = _error(api_client.delete("/api/v1/accounts/me/"), 405)

    assert body["code"] == "method_not_allowed"


def test_get_on_the_token_endpoint_is_405(api_client, db):
    assert _error(api_client.get("/api/v1/auth/token/"), 405)["code"] == "method_not_allowed"


def test_conflict_is_409(api_client, administrator, agent):
    token, _key = api_token_create(user=agent, name="x", actor=administrator)
    api_client.force_authenticate(administrator)
    api_client.post(f"/api/v1/accounts/tokens/{token.pk}/revoke/")

    response = api_client.post(f"/api/v1/accounts/tokens/{token.pk}/revoke/")

    assert _error(response, 409)["code"] == "already_revoked"


def test_throttled_is_429(api_client, agent, throttle_rates):
    cache.clear()
    throttle_rates(user="1/minute")
    api_client.force_authenticate(agent)
    api_client.get("/api/v1/accounts/me/")

    response = api_client.get("/api/v1/accounts/me/")

    assert _error(response, 429)["code"] == "throttled"
    cache.clear()


def test_django_validation_error_from_a_service_is_400_with_fields():
    exc = DjangoValidationError({"time_zone": ["Unknown time zone."], "__all__": ["Broken."]})

    body = _error(_raise_through_view(exc), 400)

    assert body["code"] == "invalid"
    assert body["fields"]["time_zone"] == ["Unknown time zone."]


def test_django_validation_error_without_fields_is_400_with_its_message():
    body = _error(_raise_through_view(DjangoValidationError("Not today.")), 400)

    assert body["detail"] == "Not today."
    assert body["fields"] == {}


@pytest.mark.parametrize("status", [400, 409])
def test_domain_error_keeps_its_code_status_and_fields(status):
    exc = DomainError("Nope.", code="rule_broken", status=status, fields={"x": ["Bad x."]})

    body = _error(_raise_through_view(exc), status)

    assert body == {"code": "rule_broken", "detail": "Nope.", "fields": {"x": ["Bad x."]}}
