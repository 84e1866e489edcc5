from datetime import timedelta

import pghistory.models
import pytest
from django.contrib.auth.models import Group, Permission
from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.test import APIRequestFactory

from accounts.authentication import ApiTokenAuthentication
from accounts.backends import EmailOrUsernameBackend
from accounts.choices import Role
from accounts.models import ApiToken, OrganisationEvent, User, UserRoleEvent
from accounts.roles import ROLE_PERMISSIONS
from accounts.selectors import api_token_get_by_key, api_token_hash
from accounts.services import (
    api_token_create,
    api_token_revoke,
    roles_apply,
    user_set_roles,
    user_update_preferences,
)
from core.exceptions import DomainError
from tests.factories import UserFactory


def _authenticate(key: str):
    request = APIRequestFactory().get("/api/v1/accounts/me/", HTTP_AUTHORIZATION=f"Bearer {key}")
    return ApiTokenAuthentication().authenticate(request)


def _perm_names(group: Group) -> set[str]:
    return {
        f"{app}.{codename}"
        for app, codename in group.permissions.values_list("content_type__app_label", "codename")
    }


# API tokens


def test_api_token_create_stores_only_a_hash(agent, administrator):
    token, key = api_token_create(user=agent, name="ci", actor=administrator)

    stored = ApiToken.objects.get(pk=token.pk)
    assert stored.key_hash == api_token_hash(key)
    assert key not in stored.key_hash
    assert stored.key_prefix == key[:8]
    assert stored.created_by == administrator
    assert _authenticate(key) == (agent, stored)


def test_api_token_create_refuses_a_past_expiry(agent, administrator):
    with pytest.raises(DomainError) as exc:
        api_token_create(
            user=agent, name="ci", actor=administrator, expires_at=timezone.now() - timedelta(1)
        )

    assert exc.value.code == "invalid_expiry"
    assert list(exc.value.fields) == ["expires_at"]
    assert not ApiToken.objects.exists()


def test_api_token_create_refuses_an_inactive_user(agent, administrator):
    agent.is_active = False
    agent.save()

    with pytest.raises(DomainError) as exc:
        api_token_create(user=agent, name="ci", actor=administrator)

    assert exc.value.code == "inactive_user"


def test_revoked_token_is_refused(agent, administrator):
    token, key = api_token_create(user=agent, name="ci", actor=administrator)

    revoked = api_token_revoke(token=token, actor=administrator)

    assert revoked.revoked_by == administrator
    assert revoked.revoked_at is not None
    with pytest.raises(AuthenticationFailed):
        _authenticate(key)


def test_revoking_twice_is_a_conflict(agent, administrator):
    token, _key = api_token_create(user=agent, name="ci", actor=administrator)
    api_token_revoke(token=token, actor=administrator)

    with pytest.raises(DomainError) as exc:
        api_token_revoke(token=token, actor=administrator)

    assert (exc.value.code, exc.value.status) == ("already_revoked", 409)


def test_expired_token_is_refused(agent, administrator):
    token, key = api_token_create(
        user=agent, name="ci", actor=administrator, expires_at=timezone.now() + timedelta(hours=1)
    )
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    with pytest.raises(AuthenticationFailed):
        _authenticate(key)


def test_token_of_a_deactivated_user_is_refused(agent, administrator):
    _token, key = api_token_create(user=agent, name="ci", actor=administrator)
    User.objects.filter(pk=agent.pk).update(is_active=False)

    with pytest.raises(AuthenticationFailed):
        _authenticate(key)


def test_token_use_is_recorded_at_most_once_a_minute(agent, administrator):
    token, key = api_token_create(user=agent, name="ci", actor=administrator)

    _authenticate(key)
    first = ApiToken.objects.get(pk=token.pk).last_used_at
    _authenticate(key)

    assert first is not None
    assert ApiToken.objects.get(pk=token.pk).last_used_at == first


# Roles


def test_roles_apply_sets_exactly_the_declared_permissions(roles):
    for role, declared in ROLE_PERMISSIONS.items():
        assert _perm_names(Group.objects.get(name=role)) == set(declared)


def test_roles_apply_is_idempotent(roles):
    before = {g.name: _perm_names(g) for g in Group.objects.all()}

    roles_apply()
    roles_apply()

    assert {g.name: _perm_names(g) for g in Group.objects.all()} == before
    assert Group.objects.filter(name__in=Role.values).count() == len(Role.values)


def test_roles_apply_removes_hand_granted_permissions(roles):
    group = Group.objects.get(name=Role.CUSTOMER)
    group.permissions.add(Permission.objects.get(codename="view_user"))

    roles_apply()

    assert "accounts.view_user" not in _perm_names(group)


def test_user_set_roles_replaces_the_roles(agent, administrator):
    user_set_roles(user=agent, roles=[Role.MANAGER], actor=administrator)

    agent.refresh_from_db()
    assert set(agent.groups.values_list("name", flat=True)) == {Role.MANAGER}
    assert agent.is_staff is False


def test_user_set_roles_administrator_gets_admin_site_access_and_loses_it(agent, administrator):
    user_set_roles(user=agent, roles=[Role.ADMINISTRATOR], actor=administrator)
    agent.refresh_from_db()
    assert agent.is_staff is True

    user_set_roles(user=agent, roles=[Role.AGENT], actor=administrator)
    agent.refresh_from_db()
    assert agent.is_staff is False


def test_user_set_roles_refuses_unknown_roles(agent, administrator):
    with pytest.raises(DomainError) as exc:
        user_set_roles(user=agent, roles=["wizard"], actor=administrator)

    assert exc.value.code == "unknown_role"
    assert set(agent.groups.values_list("name", flat=True)) == {Role.AGENT}


def test_user_set_roles_refuses_a_customer_without_organisation(agent, administrator):
    with pytest.raises(DomainError) as exc:
        user_set_roles(user=agent, roles=[Role.CUSTOMER], actor=administrator)

    assert exc.value.code == "customer_without_organisation"


def test_roles_and_permissions_of_a_user_are_read_in_one_query(agent, django_assert_num_queries):
    user = User.objects.get(pk=agent.pk)
    extra = Permission.objects.get(codename="view_dashboard")  # a manager's, given directly
    user.user_permissions.add(extra)
    user = User.objects.get(pk=agent.pk)

    with django_assert_num_queries(1):
        roles = user.role_names
        allowed = user.has_perm("incidents.resolve_incident")
        direct = user.has_perm("accounts.view_dashboard")
        denied = user.has_perm("accounts.change_user")

    assert roles == frozenset({Role.AGENT})
    assert (allowed, direct, denied) == (True, True, False)
    assert user.get_all_permissions() == {*ROLE_PERMISSIONS[Role.AGENT], "accounts.view_dashboard"}


def test_a_signed_in_user_is_read_with_roles_and_permissions_in_one_query(
    agent, customer_a, django_assert_num_queries
):
    backend = EmailOrUsernameBackend()
    with django_assert_num_queries(1):
        user = backend.get_user(agent.pk)
        checks = (user.role_names, user.is_agent, user.has_perm("accounts.view_dashboard"))

    assert user == agent and user.email == agent.email and user.last_login == agent.last_login
    assert checks == (frozenset({Role.AGENT}), True, False)
    customer = backend.get_user(customer_a.pk)
    assert (customer.role_names, customer.organisation_id) == (
        frozenset({Role.CUSTOMER}),
        customer_a.organisation_id,
    )
    assert backend.get_user(10**9) is None
    agent.is_active = False
    agent.save(update_fields=["is_active"])
    assert backend.get_user(agent.pk) is None


def test_a_token_is_read_with_its_user_roles_and_permissions_in_one_query(
    agent, django_assert_num_queries
):
    token, key = api_token_create(user=agent, name="ci", actor=agent)
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())

    with django_assert_num_queries(1):
        user, found = _authenticate(key)
        checks = (user.role_names, user.has_perm("incidents.resolve_incident"))

    assert (found.pk, found.name, user.pk) == (token.pk, "ci", agent.pk)
    assert checks == (frozenset({Role.AGENT}), True)
    assert api_token_get_by_key(key=key + "x") is None


def test_a_superuser_has_every_permission_and_an_inactive_user_none(agent):
    boss = UserFactory(is_superuser=True)
    assert boss.get_all_permissions() == {
        f"{app}.{codename}"
        for app, codename in Permission.objects.values_list("content_type__app_label", "codename")
    }
    agent.is_active = False
    agent.save(update_fields=["is_active"])
    assert not User.objects.get(pk=agent.pk).has_perm("incidents.resolve_incident")


def test_user_set_roles_answers_with_the_new_roles_and_permissions(agent, administrator):
    assert not agent.has_perm("accounts.view_dashboard")

    user = user_set_roles(user=agent, roles=[Role.MANAGER], actor=administrator)
    assert user.role_names == frozenset({Role.MANAGER})
    assert user.has_perm("accounts.view_dashboard")

    user = user_set_roles(user=user, roles=[Role.AGENT], actor=administrator)
    assert user.role_names == frozenset({Role.AGENT})
    assert not user.has_perm("accounts.view_dashboard")


def test_user_update_preferences(agent):
    user_update_preferences(user=agent, actor=agent, language="zh-hans", time_zone="Asia/Shanghai")

    agent.refresh_from_db()
    assert (agent.language, agent.time_zone) == ("zh-hans", "Asia/Shanghai")


# Audit trail (pghistory)


def test_renaming_an_organisation_is_audited_with_old_and_new_name(org_a):
    org_a.name = "Acme Holdings"
    org_a.save()

    events = list(OrganisationEvent.objects.filter(pgh_obj=org_a).order_by("pgh_id"))
    assert [(e.pgh_label, e.name) for e in events] == [
        ("insert", "Acme Trading"),
        ("update", "Acme Holdings"),
    ]
    diff = pghistory.models.Events.objects.tracks(org_a).get(pgh_label="update")
    assert diff.pgh_diff["name"] == ["Acme Trading", "Acme Holdings"]


def test_granting_and_revoking_a_role_writes_user_role_events(roles, administrator):
    # The triggers on auth's M2M table come from PGTRIGGER_INSTALL_ON_MIGRATE, not a migration.
    user = UserFactory(username="newbie")

    user_set_roles(user=user, roles=[Role.AGENT], actor=administrator)
    user_set_roles(user=user, roles=[Role.MANAGER], actor=administrator)

    agent_group = Group.objects.get(name=Role.AGENT)
    manager_group = Group.objects.get(name=Role.MANAGER)
    events = UserRoleEvent.objects.filter(user=user).order_by("pgh_id")
    assert [(e.pgh_label, e.group_id) for e in events] == [
        ("role.granted", agent_group.pk),
        ("role.revoked", agent_group.pk),
        ("role.granted", manager_group.pk),
    ]


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE accounts_organisationevent SET name = 'forged'",
        "DELETE FROM accounts_organisationevent",
        "UPDATE accounts_userroleevent SET group_id = group_id",
        "DELETE FROM accounts_userroleevent",
    ],
)
def test_audit_event_tables_refuse_update_and_delete(statement, org_a, customer_a):
    org_a.name = "Renamed"
    org_a.save()

    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement)

    assert OrganisationEvent.objects.filter(pgh_obj=org_a).count() == 2
    assert not OrganisationEvent.objects.filter(name="forged").exists()
    assert UserRoleEvent.objects.filter(user=customer_a).count() == 1
