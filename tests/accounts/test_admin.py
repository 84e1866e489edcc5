from django.contrib.messages import get_messages
from django.urls import reverse

from accounts.choices import Role
from accounts.models import ApiToken, SupportGroupMembership, User, UserRoleEvent
from accounts.selectors import api_token_hash
from accounts.services import api_token_create
from tests.factories import SupportGroupFactory


def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def _user_form(user, **changes):
    data = {
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "phone": "",
        "job_title": "",
        "organisation": user.organisation_id or "",
        "language": user.language,
        "time_zone": user.time_zone,
        "is_active": "on",
        "roles": sorted(user.role_names),
    }
    data.update(changes)
    return data


def test_admin_pages_render_for_the_administrator(client, administrator, org_a, agent):
    client.force_login(administrator)
    group = SupportGroupFactory(name="Network")
    token, _key = api_token_create(user=agent, name="ci", actor=administrator)

    urls = [
        reverse("admin:index"),
        reverse("admin:accounts_user_changelist"),
        reverse("admin:accounts_user_add"),
        reverse("admin:accounts_user_change", args=[agent.pk]),
        reverse("admin:accounts_organisation_change", args=[org_a.pk]),
        reverse("admin:accounts_supportgroup_change", args=[group.pk]),
        reverse("admin:accounts_apitoken_changelist"),
        reverse("admin:accounts_apitoken_add"),
        reverse("admin:accounts_apitoken_change", args=[token.pk]),
    ]

    assert {url: client.get(url).status_code for url in urls} == dict.fromkeys(urls, 200)


def test_changing_roles_in_the_admin_goes_through_the_service(client, administrator, agent):
    client.force_login(administrator)
    url = reverse("admin:accounts_user_change", args=[agent.pk])

    response = client.post(url, _user_form(agent, roles=[Role.ADMINISTRATOR]))

    assert response.status_code == 302, response.context["adminform"].form.errors
    agent.refresh_from_db()
    assert set(agent.groups.values_list("name", flat=True)) == {Role.ADMINISTRATOR}
    assert agent.is_staff is True
    assert UserRoleEvent.objects.filter(user=agent, pgh_label="role.revoked").count() == 1


def test_admin_refuses_a_customer_role_without_organisation(client, administrator, agent):
    client.force_login(administrator)
    url = reverse("admin:accounts_user_change", args=[agent.pk])

    response = client.post(url, _user_form(agent, roles=[Role.CUSTOMER]))

    assert response.status_code == 200
    assert "organisation" in response.context["adminform"].form.errors
    assert set(agent.groups.values_list("name", flat=True)) == {Role.AGENT}


def test_admin_creates_a_customer_with_role(client, administrator, org_a):
    client.force_login(administrator)

    response = client.post(
        reverse("admin:accounts_user_add"),
        {
            "username": "newcustomer",
            "email": "new@acme.example.com",
            "usable_password": "true",
            "password1": "a-long-enough-passphrase-42",
            "password2": "a-long-enough-passphrase-42",
            "organisation": org_a.pk,
            "roles": [Role.CUSTOMER],
        },
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    user = User.objects.get(username="newcustomer")
    assert user.is_customer
    assert user.organisation == org_a


def test_support_group_inline_refuses_customers(client, administrator, customer_a):
    client.force_login(administrator)
    group = SupportGroupFactory(name="Network")
    prefix = "supportgroupmembership_set"

    response = client.post(
        reverse("admin:accounts_supportgroup_change", args=[group.pk]),
        {
            "name": "Network",
            "description": "",
            "email": "",
            "manager": "",
            "is_active": "on",
            f"{prefix}-TOTAL_FORMS": "1",
            f"{prefix}-INITIAL_FORMS": "0",
            f"{prefix}-0-user": customer_a.pk,
        },
    )

    assert response.status_code == 200
    assert not SupportGroupMembership.objects.exists()


def test_admin_token_create_shows_the_key_once(client, administrator, agent):
    client.force_login(administrator)

    response = client.post(
        reverse("admin:accounts_apitoken_add"),
        {"user": agent.pk, "name": "monitoring", "expires_at_0": "", "expires_at_1": ""},
        follow=True,
    )

    token = ApiToken.objects.get(name="monitoring")
    shown = [m for m in _messages(response) if "copy it now" in m]
    assert len(shown) == 1
    key = shown[0].split(" is ", 1)[1].split(" ")[0]
    assert api_token_hash(key) == token.key_hash
    assert token.created_by == administrator
    assert key not in client.get(reverse("admin:accounts_apitoken_changelist")).content.decode()


def test_admin_revoke_action_calls_the_service(client, administrator, agent):
    client.force_login(administrator)
    active, _key = api_token_create(user=agent, name="a", actor=administrator)
    revoked, _key = api_token_create(user=agent, name="b", actor=administrator)
    revoked.revoked_at = revoked.created_at
    revoked.save()

    response = client.post(
        reverse("admin:accounts_apitoken_changelist"),
        {"action": "revoke_tokens", "_selected_action": [active.pk, revoked.pk]},
        follow=True,
    )

    active.refresh_from_db()
    assert active.revoked_by == administrator
    assert "1 token revoked." in _messages(response)


def test_non_staff_roles_cannot_enter_the_admin(client, manager):
    client.force_login(manager)

    response = client.get(reverse("admin:index"))

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
