from datetime import timedelta

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone, translation

from accounts.models import ApiToken
from accounts.services import api_token_create
from core.api.throttling import UserRateThrottle
from tests.factories import SupportGroupFactory

TOKEN_URL = "/api/v1/auth/token/"


@pytest.fixture(autouse=True)
def _fresh_throttle_and_lockout_state():
    # Throttle history lives in the shared Redis cache; start each test from zero.
    cache.clear()
    yield
    cache.clear()


def _error_shape(response):
    body = response.json()
    assert set(body) == {"code", "detail", "fields"}, body
    return body


def test_token_obtain_by_username_returns_a_working_token(api_client, agent, password):
    response = api_client.post(TOKEN_URL, {"username": "agent", "password": password})

    assert response.status_code == 201
    body = response.json()
    assert body["user"]["username"] == "agent"
    assert body["user"]["roles"] == ["agent"]
    token = ApiToken.objects.get(user=agent)
    assert token.name.startswith("login ")
    assert token.created_by == agent
    assert token.expires_at > timezone.now() + timedelta(hours=23)
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {body['token']}")
    me = api_client.get("/api/v1/accounts/me/")
    assert me.status_code == 200
    assert me.json()["username"] == "agent"


def test_token_obtain_accepts_the_email_address(api_client, agent, password):
    response = api_client.post(TOKEN_URL, {"username": "AGENT@example.com", "password": password})

    assert response.status_code == 201


def test_token_obtain_with_wrong_password_is_400_in_error_format(api_client, agent):
    response = api_client.post(TOKEN_URL, {"username": "agent", "password": "wrong"})

    assert response.status_code == 400
    assert _error_shape(response)["code"] == "invalid_credentials"
    assert not ApiToken.objects.exists()


def test_token_obtain_without_password_names_the_field(api_client, agent):
    response = api_client.post(TOKEN_URL, {"username": "agent"})

    assert response.status_code == 400
    body = _error_shape(response)
    assert body["code"] == "invalid"
    assert list(body["fields"]) == ["password"]


def test_token_obtain_locks_out_after_repeated_failures(api_client, agent, password, settings):
    for _attempt in range(settings.AXES_FAILURE_LIMIT - 1):
        assert api_client.post(TOKEN_URL, {"username": "agent", "password": "x"}).status_code == 400

    locking = api_client.post(TOKEN_URL, {"username": "agent", "password": "x"})
    after = api_client.post(TOKEN_URL, {"username": "agent", "password": password})

    assert locking.status_code == 429
    assert _error_shape(locking)["code"] == "locked_out"
    assert after.status_code == 429
    assert _error_shape(after)["code"] == "locked_out"
    assert not ApiToken.objects.exists()


def test_token_obtain_is_throttled_by_its_scope(api_client, agent, password, throttle_rates):
    throttle_rates(auth_token="2/minute")

    codes = [
        api_client.post(TOKEN_URL, {"username": "agent", "password": password}).status_code
        for _ in range(3)
    ]

    assert codes == [201, 201, 429]


def test_anonymous_api_clients_are_throttled(api_client, throttle_rates):
    throttle_rates(anon="2/minute")

    codes = [
        api_client.get("/api/v1/schema/", HTTP_ACCEPT="application/json").status_code
        for _ in range(3)
    ]

    assert codes == [200, 200, 429]
    last = api_client.get("/api/v1/schema/", HTTP_ACCEPT="application/json")
    assert _error_shape(last)["code"] == "throttled"
    assert int(last["Retry-After"]) > 0


def test_token_clients_are_throttled_per_user(api_client, agent, throttle_rates):
    _token, key = api_token_create(user=agent, name="ci", actor=agent)
    throttle_rates(user="2/minute")
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {key}")

    codes = [api_client.get("/api/v1/accounts/me/").status_code for _ in range(3)]

    assert codes == [200, 200, 429]


def test_the_throttle_counts_per_window_and_lets_the_next_window_through(
    api_client, agent, monkeypatch, throttle_rates
):
    throttle_rates(user="2/minute")
    clock = [600.0]  # ten minutes: the start of a one-minute window
    monkeypatch.setattr(UserRateThrottle, "timer", lambda self: clock[0])
    api_client.force_authenticate(agent)

    codes = []
    for moment in (600.0, 630.0, 659.0):
        clock[0] = moment
        codes.append(api_client.get("/api/v1/accounts/me/"))
    clock[0] = 660.0  # the next window
    codes.append(api_client.get("/api/v1/accounts/me/"))

    assert [r.status_code for r in codes] == [200, 200, 429, 200]
    assert codes[2]["Retry-After"] == "1"  # the window ends at 660
    assert cache.get(f"throttle_user_{agent.pk}:11") == 1  # a counter, not a request log


def test_revoked_and_expired_tokens_are_refused_with_401(api_client, agent):
    revoked, revoked_key = api_token_create(user=agent, name="old", actor=agent)
    ApiToken.objects.filter(pk=revoked.pk).update(revoked_at=timezone.now())
    expired, expired_key = api_token_create(user=agent, name="exp", actor=agent)
    ApiToken.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(1))

    for key in (revoked_key, expired_key, "no-such-key"):
        api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
        response = api_client.get("/api/v1/accounts/me/")
        assert response.status_code == 401
        assert _error_shape(response)["code"] == "authentication_failed"
        assert response["WWW-Authenticate"] == "Bearer"


def test_me_shows_roles_organisation_and_preferences(api_client, customer_a):
    api_client.force_authenticate(customer_a)

    body = api_client.get("/api/v1/accounts/me/").json()

    assert body["roles"] == ["customer"]
    assert body["organisation"] == {
        "pk": customer_a.organisation_id,
        "name": "Acme Trading",
        "code": "acme",
    }
    assert body["language"] == "en"
    assert body["time_zone"] == "UTC"
    assert "accounts.access_portal" in body["permissions"]


def test_me_patch_changes_language_and_time_zone(api_client, agent):
    api_client.force_authenticate(agent)

    response = api_client.patch(
        "/api/v1/accounts/me/", {"language": "zh-hans", "time_zone": "Asia/Shanghai"}
    )

    assert response.status_code == 200
    agent.refresh_from_db()
    assert (agent.language, agent.time_zone) == ("zh-hans", "Asia/Shanghai")
    assert response.json()["time_zone"] == "Asia/Shanghai"


def test_me_patch_rejects_an_unknown_time_zone(api_client, agent):
    api_client.force_authenticate(agent)

    response = api_client.patch("/api/v1/accounts/me/", {"time_zone": "Mars/Olympus"})

    assert response.status_code == 400
    assert list(_error_shape(response)["fields"]) == ["time_zone"]
    agent.refresh_from_db()
    assert agent.time_zone == "UTC"


def test_customer_sees_only_their_own_organisation(api_client, customer_a, org_b):
    api_client.force_authenticate(customer_a)

    listed = api_client.get("/api/v1/accounts/organisations/").json()["results"]
    other = api_client.get(f"/api/v1/accounts/organisations/{org_b.pk}/")

    assert [o["code"] for o in listed] == ["acme"]
    assert other.status_code == 404
    assert _error_shape(other)["code"] == "not_found"


def test_agent_sees_every_organisation(api_client, agent, org_a, org_b):
    api_client.force_authenticate(agent)

    listed = api_client.get("/api/v1/accounts/organisations/?ordering=name").json()["results"]

    assert [o["code"] for o in listed] == ["acme", "bluebird"]


def test_organisation_filter_by_search_text(api_client, agent, org_a, org_b):
    api_client.force_authenticate(agent)

    listed = api_client.get("/api/v1/accounts/organisations/?q=blue").json()["results"]

    assert [o["code"] for o in listed] == ["bluebird"]


def test_customers_may_not_list_users_or_support_groups(api_client, customer_a):
    api_client.force_authenticate(customer_a)

    for url in ("/api/v1/accounts/users/", "/api/v1/accounts/support-groups/"):
        response = api_client.get(url)
        assert response.status_code == 403
        assert _error_shape(response)["code"] == "permission_denied"


def test_user_list_filters_by_role_without_n_plus_one(
    api_client, agent, manager, customer_a, customer_b, django_assert_max_num_queries
):
    api_client.force_authenticate(agent)

    with django_assert_max_num_queries(8):
        response = api_client.get("/api/v1/accounts/users/?role=customer")

    assert sorted(u["username"] for u in response.json()["results"]) == ["cust_a", "cust_b"]


def test_user_list_is_cursor_paginated(api_client, agent, manager, administrator):
    api_client.force_authenticate(agent)

    first = api_client.get("/api/v1/accounts/users/?page_size=2").json()
    second = api_client.get(first["next"]).json()

    assert len(first["results"]) == 2
    assert first["previous"] is None
    assert len(second["results"]) == 1
    names = {u["username"] for u in first["results"] + second["results"]}
    assert names == {"agent", "manager", "admin"}


def test_support_groups_list_members(api_client, agent, manager):
    group = SupportGroupFactory(name="Network", manager=manager)
    group.members.add(agent)
    api_client.force_authenticate(agent)

    body = api_client.get("/api/v1/accounts/support-groups/").json()["results"]

    assert body[0]["name"] == "Network"
    assert body[0]["manager"]["username"] == "manager"
    assert [m["username"] for m in body[0]["members"]] == ["agent"]


def test_administrator_creates_a_token_and_sees_the_key_once(api_client, administrator, agent):
    api_client.force_authenticate(administrator)

    response = api_client.post("/api/v1/accounts/tokens/", {"user": agent.pk, "name": "monitoring"})
    listed = api_client.get("/api/v1/accounts/tokens/").json()["results"]

    assert response.status_code == 201
    body = response.json()
    token = ApiToken.objects.get(name="monitoring")
    assert body["key"].startswith(token.key_prefix)
    assert (token.user, token.created_by) == (agent, administrator)
    assert "key" not in listed[0]
    assert listed[0]["key_prefix"] == token.key_prefix


def test_token_create_with_past_expiry_is_400_with_field(api_client, administrator, agent):
    api_client.force_authenticate(administrator)

    response = api_client.post(
        "/api/v1/accounts/tokens/",
        {"user": agent.pk, "name": "x", "expires_at": "2001-01-01T00:00:00Z"},
    )

    assert response.status_code == 400
    body = _error_shape(response)
    assert body["code"] == "invalid_expiry"
    assert list(body["fields"]) == ["expires_at"]
    assert not ApiToken.objects.exists()


@pytest.mark.parametrize("role", ["customer_a", "agent", "manager"])
def test_only_token_managers_may_create_tokens(api_client, role, request, agent):
    api_client.force_authenticate(request.getfixturevalue(role))

    response = api_client.post("/api/v1/accounts/tokens/", {"user": agent.pk, "name": "x"})

    assert response.status_code == 403
    assert _error_shape(response)["code"] == "permission_denied"
    assert not ApiToken.objects.exists()


def test_users_see_only_their_own_tokens(api_client, agent, manager, administrator):
    mine, _key = api_token_create(user=agent, name="mine", actor=administrator)
    api_token_create(user=manager, name="theirs", actor=administrator)
    api_client.force_authenticate(agent)

    listed = api_client.get("/api/v1/accounts/tokens/").json()["results"]

    assert [t["pk"] for t in listed] == [mine.pk]


def test_revoke_then_revoke_again_is_409(api_client, administrator, agent):
    token, key = api_token_create(user=agent, name="ci", actor=administrator)
    api_client.force_authenticate(administrator)
    url = reverse("api-v1:accounts-api:api-token-revoke", kwargs={"pk": token.pk})

    first = api_client.post(url)
    second = api_client.post(url)

    assert first.status_code == 200
    assert first.json()["revoked_by"]["username"] == "admin"
    assert second.status_code == 409
    assert _error_shape(second)["code"] == "already_revoked"
    api_client.force_authenticate(None)
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert api_client.get("/api/v1/accounts/me/").status_code == 401


def test_a_user_cannot_revoke_someone_elses_token(api_client, agent, manager, administrator):
    token, _key = api_token_create(user=manager, name="theirs", actor=administrator)
    api_client.force_authenticate(agent)

    response = api_client.post(f"/api/v1/accounts/tokens/{token.pk}/revoke/")

    assert response.status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


def test_session_clients_need_the_csrf_token_for_writes(agent, client):
    from rest_framework.test import APIClient

    csrf_client = APIClient(enforce_csrf_checks=True)
    csrf_client.force_login(agent)

    response = csrf_client.patch("/api/v1/accounts/me/", {"language": "zh-hans"}, format="json")

    assert response.status_code == 403
    assert "CSRF" in _error_shape(response)["detail"]


def test_token_requests_run_in_the_users_language_and_time_zone(api_client, agent):
    # The middleware activates a session user's preferences; a token is authenticated
    # later, by DRF, which must do the same (the browser's Accept-Language is overridden).
    agent.language = "zh-hans"
    agent.time_zone = "Asia/Shanghai"
    agent.save(update_fields=["language", "time_zone"])
    _token, key = api_token_create(user=agent, name="integration", actor=agent)
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}", HTTP_ACCEPT_LANGUAGE="en")

    refused = api_client.post("/api/v1/incidents/", {}, format="json")
    assert refused.status_code == 400
    assert refused["Content-Language"] == "zh-hans"
    with translation.override("zh-hans"):
        required = translation.gettext("This field is required.")
    assert required != "This field is required."
    assert _error_shape(refused)["fields"]["title"] == [required]

    created = api_client.post("/api/v1/incidents/", {"title": "VPN"}, format="json")
    assert created.status_code == 201, created.json()
    assert created.json()["created_at"].endswith("+08:00")

    # Without a token the same client is anonymous: English, and the default time zone.
    api_client.credentials(HTTP_ACCEPT_LANGUAGE="en")
    anonymous = api_client.post("/api/v1/incidents/", {}, format="json")
    assert anonymous.status_code == 401
    assert anonymous["Content-Language"] == "en"
