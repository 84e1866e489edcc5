"""Real headless Chromium through Playwright, against pytest-django's live server.

Debian's /usr/bin/chromium is used (no browser download). Without it every browser test
is skipped with a reason, and the terminal summary says so in a warning line, so a green
run without a browser cannot pass unnoticed.

ITSM_SCREENSHOTS=1 saves a screenshot of each page visited by the tests to screenshots/.
"""

import os
from pathlib import Path

import pytest
from django.conf import settings

from incidents.services import incident_create
from incidents.views import reference_choices_forget
from tests.config_items.conftest import cmdb_defaults_create
from tests.config_items.factories import ConfigurationItemFactory, ci_class
from tests.factories import SupportGroupFactory, UserFactory
from tests.incidents.conftest import incident_defaults_create

# Playwright's sync API runs an event loop in this thread; Django would otherwise refuse
# the ORM calls that fixtures make from it.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = Path(os.environ.get("ITSM_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
MISSING_REASON = f"browser tests need Chromium at {CHROMIUM} (apt-get install chromium)"

_skipped_for_missing_browser: list[str] = []


@pytest.fixture(scope="session")
def chromium():
    """One headless Chromium for the whole run."""
    if not CHROMIUM.exists():
        pytest.skip(MISSING_REASON)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()


@pytest.fixture
def console_errors():
    """Errors the browser console reported; a test expecting one (a 403 page) clears it."""
    return []


@pytest.fixture
def page(chromium, live_server, console_errors):
    """A fresh browser context (no cookies) with a page; fails the test on console errors.

    Console errors include Content-Security-Policy violations, so an inline script or
    style slipping into a template shows up here.
    """
    context = chromium.new_context(
        base_url=live_server.url, viewport={"width": 1366, "height": 860}, locale="en-GB"
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.on("console", lambda msg: console_errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: console_errors.append(str(exc)))
    yield page
    context.close()
    errors = _without_aborted_requests(console_errors)
    assert errors == [], f"browser console errors: {errors}"


def _without_aborted_requests(errors: list[str]) -> list[str]:
    """The console errors less htmx's reports of requests the browser aborted because the
    test moved on while they were in flight (a panel loading after its page): htmx logs
    `htmx:sendAbort` and, for the same request, a failed `htmx:afterRequest`. A request
    that failed on the server still shows (`htmx:responseError` with its afterRequest)."""
    aborted = sum(1 for error in errors if error.startswith("htmx:sendAbort"))
    kept = []
    for error in errors:
        if error.startswith("htmx:sendAbort"):
            continue
        if error.startswith("htmx:afterRequest") and aborted:
            aborted -= 1
            continue
        kept.append(error)
    return kept


@pytest.fixture
def screenshot():
    """Saves a full-page screenshot when ITSM_SCREENSHOTS=1; does nothing otherwise."""
    enabled = os.environ.get("ITSM_SCREENSHOTS") == "1"
    folder = Path(settings.BASE_DIR) / "screenshots"

    def take(page, name: str, *, full_page: bool = True) -> None:
        if enabled:
            folder.mkdir(exist_ok=True)
            page.screenshot(path=str(folder / f"{name}.png"), full_page=full_page)

    return take


@pytest.fixture
def sign_in(password):
    """Signs a user in through the login form, as a person would."""

    def do(page, username: str) -> None:
        page.goto("/accounts/login/")
        page.get_by_label("Username or e-mail").fill(username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_load_state()

    return do


def pytest_runtest_logreport(report):
    if report.skipped and MISSING_REASON in str(report.longrepr):
        _skipped_for_missing_browser.append(report.nodeid)


def pytest_terminal_summary(terminalreporter):
    if _skipped_for_missing_browser:
        terminalreporter.write_sep("!", "WARNING: browser tests did not run", red=True, bold=True)
        terminalreporter.write_line(
            f"WARNING: {len(_skipped_for_missing_browser)} browser test(s) SKIPPED: "
            f"{MISSING_REASON}",
            red=True,
            bold=True,
        )


@pytest.fixture
def desk(agent, manager, customer_a, org_a):
    """Reference data of a small service desk, and a few incidents already in the queue."""
    incident_defaults_create()
    cmdb_defaults_create()
    reference_choices_forget()
    group = SupportGroupFactory(name="Service desk")
    group.members.add(agent, manager)
    mail = ConfigurationItemFactory(name="E-mail", ci_class=ci_class("business_service"))
    mail.organisations.set([org_a])
    customer_a.first_name, customer_a.last_name = "Wendy", "Walker"
    customer_a.phone = "+44 20 7946 0018"
    customer_a.save()
    colleague = UserFactory(username="li.wei", first_name="Wei", last_name="Li", organisation=org_a)
    for title, impact in (("VPN drops every hour", 2), ("Printer on floor 3 jams", 3)):
        incident_create(
            actor=agent, caller=colleague, title=title, impact=impact, assignment_group=group
        )
    incident_create(
        actor=agent,
        caller=colleague,
        title="Payroll export fails",
        impact=1,
        urgency=1,
        assignment_group=group,
        assignee=agent,
    )
    return group
