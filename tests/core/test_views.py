"""Workspace, portal and dashboard pages: who may open them and what they show."""

import pytest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

ROLES = ["anonymous", "customer", "agent", "manager", "administrator"]
LOGIN = "login"
PORTAL = "portal"
OK = 200
FORBIDDEN = 403


@pytest.fixture
def user_of(request):
    """Returns the user for a role name (None for anonymous), creating only that one."""

    def get(role: str):
        if role == "anonymous":
            return None
        fixture = "customer_a" if role == "customer" else role
        return request.getfixturevalue(fixture)

    return get


def _get_as(client, user, url, **extra):
    if user is not None:
        client.force_login(user)
    return client.get(url, **extra)


def _assert_outcome(response, expected, url):
    if expected == LOGIN:
        assert response.status_code == 302
        assert response["Location"] == f"{reverse('accounts:login')}?next={url}"
    elif expected == PORTAL:
        assert response.status_code == 302
        assert response["Location"] == reverse("portal:home")
    else:
        assert response.status_code == expected


WORKSPACE_PAGES = ["core:home", "core:search"]
PORTAL_PAGES = ["portal:home", "portal:my_tickets", "portal:raise_ticket", "portal:knowledge"]

WORKSPACE_EXPECTED = {
    "anonymous": LOGIN,
    "customer": PORTAL,
    "agent": OK,
    "manager": OK,
    "administrator": OK,
}
PORTAL_EXPECTED = {
    "anonymous": LOGIN,
    "customer": OK,
    "agent": FORBIDDEN,
    "manager": FORBIDDEN,
    "administrator": FORBIDDEN,
}
DASHBOARD_EXPECTED = {
    "anonymous": LOGIN,
    "customer": PORTAL,
    "agent": FORBIDDEN,
    "manager": OK,
    "administrator": OK,
}


@pytest.mark.django_db
@pytest.mark.parametrize("url_name", WORKSPACE_PAGES)
@pytest.mark.parametrize("role", ROLES)
def test_workspace_page_access_by_role(client, user_of, role, url_name):
    url = reverse(url_name)

    response = _get_as(client, user_of(role), url)

    _assert_outcome(response, WORKSPACE_EXPECTED[role], url)


@pytest.mark.django_db
@pytest.mark.parametrize("url_name", PORTAL_PAGES)
@pytest.mark.parametrize("role", ROLES)
def test_portal_page_access_by_role(client, user_of, role, url_name):
    url = reverse(url_name)

    response = _get_as(client, user_of(role), url)

    _assert_outcome(response, PORTAL_EXPECTED[role], url)


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_dashboard_access_by_role(client, user_of, role):
    url = reverse("reports:dashboard")

    response = _get_as(client, user_of(role), url)

    _assert_outcome(response, DASHBOARD_EXPECTED[role], url)


def test_customer_posting_to_a_workspace_page_is_forbidden_not_redirected(client, customer_a):
    client.force_login(customer_a)

    response = client.post(reverse("core:home"))

    assert response.status_code == 403


def test_customer_htmx_request_to_a_workspace_page_is_forbidden(client, customer_a):
    client.force_login(customer_a)

    response = client.get(reverse("core:home"), headers={"HX-Request": "true"})

    assert response.status_code == 403


@pytest.mark.django_db
def test_anonymous_htmx_request_is_sent_to_login_with_a_client_redirect(client):
    response = client.get(reverse("reports:dashboard"), headers={"HX-Request": "true"})

    assert response.status_code == 200
    assert response["HX-Redirect"] == "/accounts/login/?next=/dashboard/"


def test_user_without_any_role_gets_403_on_the_workspace(client, db):
    from tests.factories import UserFactory

    client.force_login(UserFactory(username="nobody"))

    response = client.get(reverse("core:home"))

    assert response.status_code == 403
    assert "403.html" in [t.name for t in response.templates]


def test_workspace_home_shows_navigation_with_disabled_processes(client, agent):
    client.force_login(agent)

    response = client.get(reverse("core:home"))

    html = response.content.decode()
    assert 'data-nav="dashboard"' in html
    assert 'aria-current="page"' in html
    # Processes without pages yet are shown, disabled, never linked.
    assert '<span class="nav-link disabled" aria-disabled="true" data-nav="problems"' in html
    assert '<a class="nav-link" href="/incidents/" data-nav="incidents"' in html
    assert 'data-nav="reports"' not in html
    assert "Incidents" in html and "Knowledge" in html
    sections = response.context["nav_sections"]
    labels = [str(item["label"]) for section in sections for item in section["items"]]
    assert labels == [
        "Dashboard",
        "Incidents",
        "Service requests",
        "Problems",
        "Changes",
        "Releases",
        "CMDB",
        "Service catalogue",
        "Knowledge",
        "SLAs",
        "SLA dashboard",
    ]


def test_manager_navigation_links_to_the_dashboard(client, manager):
    client.force_login(manager)

    response = client.get(reverse("reports:dashboard"))

    html = response.content.decode()
    assert f'href="{reverse("reports:dashboard")}" data-nav="reports" aria-current="page"' in html


def test_workspace_top_bar_has_search_notifications_and_user_menu(client, agent):
    client.force_login(agent)

    response = client.get(reverse("core:home"))

    html = response.content.decode()
    assert f'action="{reverse("core:search")}"' in html
    assert 'class="badge rounded-pill notification-count" data-count="0">0<' in html
    assert reverse("accounts:profile") in html
    assert reverse("accounts:password_change") in html
    assert f'action="{reverse("accounts:logout")}"' in html
    assert 'value="zh-hans"' in html
    # The admin link is for staff only.
    assert reverse("admin:index") not in html


def test_administrator_user_menu_links_to_the_admin(client, administrator):
    client.force_login(administrator)

    response = client.get(reverse("core:home"))

    assert reverse("admin:index") in response.content.decode()


def test_pages_carry_the_csrf_header_for_htmx_and_no_inline_script(client, agent):
    client.force_login(agent)

    response = client.get(reverse("core:home"))

    html = response.content.decode()
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert 'hx-headers=\'{"X-CSRFToken": "' in html
    assert "<script>" not in html
    assert "style=" not in html
    assert "/static/django_htmx/htmx-2.min.js" in html
    assert "/static/vendor/bootstrap/css/bootstrap.min.css" in html


def test_dashboard_embeds_chart_data_as_json(client, manager):
    client.force_login(manager)

    response = client.get(reverse("reports:dashboard"))

    html = response.content.decode()
    assert '<script id="volume-chart-data" type="application/json">' in html
    assert "/static/vendor/chart.js/chart.umd.min.js" in html
    chart = response.context["volume_chart"]
    assert len(chart["labels"]) == 8
    assert [d["key"] for d in chart["datasets"]] == ["opened", "resolved"]


def test_search_echoes_the_query(client, agent):
    client.force_login(agent)

    response = client.get(reverse("core:search"), {"q": "printer <b>"})

    assert "No results for “printer &lt;b&gt;”" in response.content.decode()


def test_search_answers_htmx_with_the_results_fragment_only(client, agent):
    client.force_login(agent)

    response = client.get(reverse("core:search"), {"q": "vpn"}, headers={"HX-Request": "true"})

    html = response.content.decode()
    assert [t.name for t in response.templates] == ["core/partials/search_results.html"]
    assert "No results for “vpn”" in html
    assert "<html" not in html


def test_knowledge_search_answers_htmx_with_the_results_fragment_only(client, customer_a):
    client.force_login(customer_a)

    response = client.get(
        reverse("portal:knowledge"), {"q": "printer"}, headers={"HX-Request": "true"}
    )

    assert [t.name for t in response.templates] == ["portal/partials/knowledge_results.html"]
    assert "No articles found for “printer”" in response.content.decode()


def test_portal_home_offers_the_main_actions(client, customer_a):
    client.force_login(customer_a)

    response = client.get(reverse("portal:home"))

    html = response.content.decode()
    for name in ("portal:raise_ticket", "portal:my_tickets", "portal:knowledge"):
        assert f'href="{reverse(name)}"' in html
    # A customer never sees the agent navigation.
    assert response.context["nav_sections"] == []
    assert 'data-nav="' not in html


def test_unknown_page_renders_the_404_template(client, agent):
    client.force_login(agent)

    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert "We could not find that page" in response.content.decode()


def test_500_template_renders_without_context():
    # In English whatever language an earlier test left active in this thread.
    with translation.override("en"):
        html = render_to_string("500.html")

    assert "Something went wrong on our side" in html
    assert "/static/css/app.css" in html
