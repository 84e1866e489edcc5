"""The workspace, portal, dashboard and account pages in a real browser."""

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

BRAND_BLUE = "rgb(29, 58, 110)"

# The zh-Hans navigation labels the translators must provide (locale/zh_Hans .po).
CHINESE_NAVIGATION = {
    "dashboard": "仪表板",
    "incidents": "事件",
    "problems": "问题",
    "changes": "变更",
}


def test_agent_signs_in_and_sees_the_workspace(page, agent, sign_in, screenshot):
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/$"))
    screenshot(page, "login")

    sign_in(page, "agent")

    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Welcome")
    nav = page.locator("#sidebar")
    expect(nav.locator('[data-nav="dashboard"]')).to_have_attribute("aria-current", "page")
    expect(nav.locator('[data-nav="incidents"]')).to_contain_text("Incidents")
    expect(nav.locator('[data-nav="reports"]')).to_have_count(0)
    # Bootstrap and our stylesheet are served by the app itself.
    topbar_colour = page.locator("header.topbar").evaluate(
        "el => getComputedStyle(el).backgroundColor"
    )
    assert topbar_colour == BRAND_BLUE
    assert page.locator(".bi-bell").evaluate("el => getComputedStyle(el, '::before').fontFamily")
    screenshot(page, "workspace")

    page.locator("#user-menu").click()
    expect(page.get_by_role("link", name="Profile and preferences")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/accounts/login/$"))


def test_customer_gets_the_portal_and_is_refused_the_workspace(
    page, customer_a, sign_in, screenshot
):
    sign_in(page, "cust_a")

    expect(page).to_have_url(re.compile(r"/portal/$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("How can we help")
    expect(page.locator("#sidebar")).to_have_count(0)
    screenshot(page, "portal")

    page.goto("/dashboard/")
    expect(page).to_have_url(re.compile(r"/portal/$"))
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/portal/$"))

    page.get_by_role("link", name="My tickets").first.click()
    expect(page.get_by_text("You have no tickets")).to_be_visible()
    screenshot(page, "portal_my_tickets")


def test_agent_is_refused_the_portal(page, agent, sign_in, console_errors, screenshot):
    sign_in(page, "agent")

    response = page.goto("/portal/")

    assert response.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("You do not have access to this page")
    assert console_errors == [
        "Failed to load resource: the server responded with a status of 403 (Forbidden)"
    ]
    console_errors.clear()
    screenshot(page, "forbidden")


def test_manager_dashboard_draws_the_chart(page, manager, sign_in, screenshot):
    sign_in(page, "manager")

    page.locator('#sidebar [data-nav="reports"]').click()

    expect(page).to_have_url(re.compile(r"/dashboard/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Service dashboard")
    page.wait_for_function("() => window.Chart && Chart.getChart('volume-chart')")
    labels = page.evaluate("() => Chart.getChart('volume-chart').data.labels.length")
    assert labels == 8
    screenshot(page, "dashboard")


def test_profile_saves_the_time_zone(page, agent, sign_in, screenshot):
    sign_in(page, "agent")
    page.goto("/accounts/profile/")
    screenshot(page, "profile")

    page.get_by_label("Time zone").select_option("Asia/Shanghai")
    page.get_by_role("button", name="Save preferences").click()

    expect(page.get_by_role("status")).to_contain_text("Your preferences have been saved.")
    expect(page.get_by_label("Time zone")).to_have_value("Asia/Shanghai")
    agent.refresh_from_db()
    assert agent.time_zone == "Asia/Shanghai"


def test_bad_password_shows_an_error_on_the_login_page(page, agent, screenshot):
    page.goto("/accounts/login/")
    page.get_by_label("Username or e-mail").fill("agent")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_role("alert")).to_contain_text("do not match an account")
    screenshot(page, "login_error")


def test_switching_to_chinese_translates_the_navigation(page, agent, sign_in, screenshot):
    sign_in(page, "agent")

    page.locator("#language-menu").click()
    page.locator('button[name="language"][value="zh-hans"]').click()

    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    screenshot(page, "workspace_zh_hans")
    for key, label in CHINESE_NAVIGATION.items():
        expect(page.locator(f'#sidebar [data-nav="{key}"]')).to_contain_text(label)
    agent.refresh_from_db()
    assert agent.language == "zh-hans"


def test_small_screens_open_the_navigation_from_the_menu_button(page, agent, sign_in, screenshot):
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, "agent")
    incidents = page.locator('#sidebar [data-nav="incidents"]')
    expect(incidents).not_to_be_visible()

    page.get_by_role("button", name="Open navigation").click()

    expect(incidents).to_be_visible()
    expect(page.locator("#sidebar")).to_have_class(re.compile(r"\bshow\b"))
    expect(page.locator("#sidebar")).not_to_have_class(re.compile(r"\bshowing\b"))
    screenshot(page, "workspace_mobile_nav", full_page=False)

    page.get_by_role("button", name="Close").click()
    expect(incidents).not_to_be_visible()


def test_knowledge_search_updates_results_as_the_customer_types(
    page, customer_a, sign_in, screenshot
):
    sign_in(page, "cust_a")
    page.get_by_role("link", name="Knowledge").first.click()
    expect(page.get_by_text("No articles published yet")).to_be_visible()

    page.get_by_role("searchbox", name="Search knowledge articles").fill("printer")

    expect(page.get_by_text("No articles found for “printer”")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/portal/knowledge/\?q=printer$"))
    screenshot(page, "portal_knowledge")
