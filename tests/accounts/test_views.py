"""Sign-in, sign-out, passwords, profile preferences and the language switch."""

import re

import pytest
from django.conf import settings
from django.core import mail
from django.urls import reverse

from accounts.models import User

ROLES = ["anonymous", "customer", "agent", "manager", "administrator"]


@pytest.fixture
def user_of(request):
    def get(role: str):
        if role == "anonymous":
            return None
        return request.getfixturevalue("customer_a" if role == "customer" else role)

    return get


# ---- sign-in and sign-out ----


@pytest.mark.django_db
def test_login_page_renders_for_anonymous(client):
    response = client.get(reverse("accounts:login"))

    assert response.status_code == 200
    assert "Username or e-mail" in response.content.decode()


def test_login_by_email_lands_an_agent_in_the_workspace(client, agent, password):
    response = client.post(
        reverse("accounts:login"), {"username": agent.email.upper(), "password": password}
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("core:home")
    assert client.get(reverse("core:home")).context["user"] == agent


def test_login_by_username_lands_a_customer_in_the_portal(client, customer_a, password):
    response = client.post(reverse("accounts:login"), {"username": "cust_a", "password": password})

    assert response.status_code == 302
    assert response["Location"] == reverse("portal:home")


def test_login_follows_a_safe_next(client, manager, password):
    response = client.post(
        f"{reverse('accounts:login')}?next=/dashboard/",
        {"username": "manager", "password": password, "next": "/dashboard/"},
    )

    assert response["Location"] == "/dashboard/"


def test_login_ignores_an_offsite_next(client, agent, password):
    response = client.post(
        reverse("accounts:login"),
        {"username": "agent", "password": password, "next": "https://evil.example.com/"},
    )

    assert response["Location"] == reverse("core:home")


def test_bad_credentials_show_a_clear_form_error(client, agent):
    response = client.post(reverse("accounts:login"), {"username": "agent", "password": "wrong"})

    assert response.status_code == 200
    html = response.content.decode()
    assert 'class="alert alert-danger' in html
    assert "That username or e-mail and password do not match an account." in html
    assert "_auth_user_id" not in client.session


def test_repeated_failures_lock_the_account_out(client, agent, password):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("accounts:login"), {"username": "agent", "password": "wrong"})

    response = client.post(reverse("accounts:login"), {"username": "agent", "password": password})

    assert response.status_code == 429
    assert "accounts/locked_out.html" in [t.name for t in response.templates]
    html = response.content.decode()
    assert "Sign-in temporarily blocked" in html
    assert "Please try again in 30 minutes." in html
    assert "_auth_user_id" not in client.session


def test_signed_in_user_opening_login_is_sent_home(client, customer_a):
    client.force_login(customer_a)

    response = client.get(reverse("accounts:login"))

    assert response["Location"] == reverse("portal:home")


def test_logout_needs_post(client, agent):
    client.force_login(agent)

    assert client.get(reverse("accounts:logout")).status_code == 405
    response = client.post(reverse("accounts:logout"))

    assert response["Location"] == reverse("accounts:login")
    assert "_auth_user_id" not in client.session


# ---- pages every signed-in user has ----


@pytest.mark.django_db
@pytest.mark.parametrize("url_name", ["accounts:profile", "accounts:password_change"])
@pytest.mark.parametrize("role", ROLES)
def test_own_account_pages_by_role(client, user_of, role, url_name):
    user = user_of(role)
    if user is not None:
        client.force_login(user)
    url = reverse(url_name)

    response = client.get(url)

    if user is None:
        assert response["Location"] == f"{reverse('accounts:login')}?next={url}"
    else:
        assert response.status_code == 200
        layout = "portal/base.html" if role == "customer" else "base.html"
        assert layout in [t.name for t in response.templates]


def test_profile_shows_the_users_roles(client, manager):
    client.force_login(manager)

    response = client.get(reverse("accounts:profile"))

    assert response.context["role_labels"] == ["Manager"]


def test_profile_update_saves_language_and_time_zone(client, agent):
    client.force_login(agent)

    response = client.post(
        reverse("accounts:profile"), {"language": "zh-hans", "time_zone": "Asia/Shanghai"}
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:profile")
    agent.refresh_from_db()
    assert (agent.language, agent.time_zone) == ("zh-hans", "Asia/Shanghai")
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "zh-hans"
    page = client.get(reverse("accounts:profile"))
    assert page.context["LANGUAGE_CODE"] == "zh-hans"
    assert page.context["TIME_ZONE"] == "Asia/Shanghai"


def test_profile_update_with_unknown_time_zone_is_a_form_error(client, agent):
    client.force_login(agent)

    response = client.post(
        reverse("accounts:profile"), {"language": "en", "time_zone": "Mars/Olympus_Mons"}
    )

    assert response.status_code == 200
    assert "time_zone" in response.context["form"].errors
    assert 'class="form-select is-invalid"' in response.content.decode()
    agent.refresh_from_db()
    assert agent.time_zone == "UTC"


def test_profile_update_with_unknown_language_is_a_form_error(client, agent):
    client.force_login(agent)

    response = client.post(reverse("accounts:profile"), {"language": "fr", "time_zone": "UTC"})

    assert "language" in response.context["form"].errors
    agent.refresh_from_db()
    assert agent.language == "en"


# ---- language switch ----


def test_language_switch_stores_the_signed_in_users_choice(client, agent):
    client.force_login(agent)

    response = client.post(
        reverse("accounts:set_language"), {"language": "zh-hans", "next": "/search/?q=vpn"}
    )

    assert response.status_code == 302
    assert response["Location"] == "/search/?q=vpn"
    agent.refresh_from_db()
    assert agent.language == "zh-hans"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "zh-hans"
    assert client.get(reverse("core:home")).context["LANGUAGE_CODE"] == "zh-hans"


@pytest.mark.django_db
def test_language_switch_for_anonymous_sets_the_cookie(client):
    response = client.post(
        reverse("accounts:set_language"), {"language": "zh-hans", "next": "/accounts/login/"}
    )

    assert response["Location"] == "/accounts/login/"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "zh-hans"
    page = client.get(reverse("accounts:login"))
    assert '<html lang="zh-hans">' in page.content.decode()


def test_language_switch_refuses_an_offsite_next(client, customer_a):
    client.force_login(customer_a)

    response = client.post(
        reverse("accounts:set_language"),
        {"language": "en", "next": "https://evil.example.com/"},
    )

    assert response["Location"] == reverse("portal:home")


def test_language_switch_ignores_an_unknown_language(client, agent):
    client.force_login(agent)

    response = client.post(reverse("accounts:set_language"), {"language": "xx", "next": "/"})

    assert response["Location"] == "/"
    assert settings.LANGUAGE_COOKIE_NAME not in response.cookies
    agent.refresh_from_db()
    assert agent.language == "en"


@pytest.mark.django_db
def test_language_switch_refuses_get(client):
    response = client.get(reverse("accounts:set_language"), {"language": "zh-hans"})

    assert response.status_code == 405


# ---- passwords ----


def test_password_change_flow(client, agent, password):
    client.force_login(agent)

    response = client.post(
        reverse("accounts:password_change"),
        {
            "old_password": password,
            "new_password1": "a-much-longer-new-secret-42",
            "new_password2": "a-much-longer-new-secret-42",
        },
    )

    assert response["Location"] == reverse("accounts:password_change_done")
    assert client.get(response["Location"]).status_code == 200
    agent.refresh_from_db()
    assert agent.check_password("a-much-longer-new-secret-42")


def test_password_change_with_wrong_old_password_shows_the_error(client, agent):
    client.force_login(agent)

    response = client.post(
        reverse("accounts:password_change"),
        {"old_password": "nope", "new_password1": "x-y-z-123456", "new_password2": "x-y-z-123456"},
    )

    assert response.status_code == 200
    assert "old_password" in response.context["form"].errors


def test_password_reset_by_email_end_to_end(client, customer_a):
    response = client.post(reverse("accounts:password_reset"), {"email": customer_a.email})

    assert response["Location"] == reverse("accounts:password_reset_done")
    assert client.get(response["Location"]).status_code == 200
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [customer_a.email]
    assert message.subject == "Reset your IT service desk password"
    link = re.search(r"https?://[^/]+(/accounts/password/reset/\S+/)", message.body).group(1)

    form_page = client.get(link, follow=True)
    assert form_page.context["validlink"] is True
    done = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "brand-new-secret-777", "new_password2": "brand-new-secret-777"},
    )

    assert done["Location"] == reverse("accounts:password_reset_complete")
    assert client.get(done["Location"]).status_code == 200
    assert User.objects.get(pk=customer_a.pk).check_password("brand-new-secret-777")


@pytest.mark.django_db
def test_password_reset_for_an_unknown_address_says_the_same_and_sends_nothing(client):
    response = client.post(reverse("accounts:password_reset"), {"email": "nobody@example.com"})

    assert response["Location"] == reverse("accounts:password_reset_done")
    assert mail.outbox == []


@pytest.mark.django_db
def test_password_reset_with_a_bad_link_explains_it(client):
    response = client.get("/accounts/password/reset/MQ/bad-token/")

    assert response.status_code == 200
    assert "This link no longer works" in response.content.decode()
