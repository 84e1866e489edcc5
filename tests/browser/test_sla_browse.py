"""Agreements and business calendars in a real browser: an agent opens SLAs from the
navigation, reads the demo agreements and the targets of the standard SLA, follows a
target's calendar and reads the public holidays of Europe and China."""

import importlib
import re

import pytest
from django.apps import apps
from django.utils import timezone
from playwright.sync_api import expect

from sla.demo import sla_demo_load
from sla.models import Agreement
from tests.config_items.conftest import cmdb_defaults_create
from tests.config_items.factories import ConfigurationItemFactory, ci_class
from tests.factories import SupportGroupFactory

pytestmark = pytest.mark.browser

# The default calendars (24x7, China and Europe office hours with their holidays) come
# from a data migration, which live-server tests flush: create them again.
_default_calendars = importlib.import_module("sla.migrations.0003_default_calendars")


def test_agent_browses_agreements_targets_and_calendars(
    page, agent, administrator, org_a, sign_in, screenshot
):
    _default_calendars.calendars_create(apps, None)
    cmdb_defaults_create()
    ConfigurationItemFactory(name="Online shop", ci_class=ci_class("business_service"))
    for name in ("Service Desk", "Network Operations"):
        SupportGroupFactory(name=name)
    sla_demo_load()
    standard = Agreement.objects.get(name="Standard support")
    year = timezone.localdate().year
    sign_in(page, "agent")

    # SLAs in the navigation is live (no "soon" badge) and lists the agreements by kind.
    nav_entry = page.locator('#sidebar [data-nav="slas"]')
    expect(nav_entry).not_to_contain_text("soon")
    nav_entry.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Service level agreements")
    expect(nav_entry).to_have_attribute("aria-current", "page")
    slas = page.locator("#agreements-sla")
    expect(slas.get_by_role("link", name="Standard support")).to_be_visible()
    expect(slas.get_by_role("row", name=re.compile("Acme gold"))).to_contain_text("Acme Trading")
    expect(page.locator("#agreements-uc")).to_contain_text("Northwind Telecom")
    expect(page.get_by_role("link", name="Edit in admin")).to_have_count(0)
    screenshot(page, "sla_agreement_list")

    # Search by reference narrows the list.
    page.get_by_label("Search agreements").fill("SLA-ACME")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#agreements-sla").get_by_role("row")).to_have_count(2)
    expect(page.locator("#agreements-sla")).to_contain_text("Acme gold")
    expect(page.locator("#agreements-uc")).to_have_count(0)
    page.get_by_role("link", name="Reset").click()

    # The standard SLA: its targets with conditions, business-time durations, calendars.
    page.get_by_role("link", name="Standard support").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Standard support")
    expect(page.locator(".page-subtitle")).to_contain_text("SLA-STD-2026")
    targets = page.locator("#target-table")
    expect(targets.locator("tbody tr")).to_have_count(10)
    p1_response = targets.get_by_role("row", name=re.compile("P1 response"))
    expect(p1_response).to_contain_text("15 min")
    expect(p1_response).to_contain_text("24x7")
    expect(p1_response).to_contain_text("Never pauses")
    p3_resolution = targets.get_by_role("row", name=re.compile("P3 resolution"))
    expect(p3_resolution).to_contain_text("27 h")
    expect(p3_resolution).to_contain_text("Awaiting customer")
    expect(p3_resolution).to_contain_text("Raise the priority to 2 - High")
    expect(p3_resolution).to_contain_text("Services, Organisations, Categories: any")
    expect(page.locator("#matching-rule")).to_contain_text("the most specific wins")
    screenshot(page, "sla_agreement_detail")

    # The calendar of a target: Europe office hours with this year's German holidays.
    p3_resolution.get_by_role("link", name="Europe office hours").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Europe office hours")
    expect(
        page.locator("#weekly-hours").get_by_role("row", name=re.compile("Monday"))
    ).to_contain_text("08:00–17:00")
    expect(
        page.locator("#weekly-hours").get_by_role("row", name=re.compile("Sunday"))
    ).to_contain_text("Closed")
    days = page.locator("#day-table")
    expect(days).to_contain_text(f"{year}")
    expect(days).to_contain_text("holidays library")
    expect(page.locator("#calendar-targets")).to_contain_text("Standard support")
    screenshot(page, "sla_calendar_europe")

    # China office hours from the calendar list: holidays and make-up working days of 2026.
    page.get_by_role("link", name="Business calendars").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Business calendars")
    expect(
        page.locator("#calendar-table").get_by_role("row", name=re.compile("China"))
    ).to_contain_text("Mon–Fri 09:00–12:00, 13:30–18:00")
    screenshot(page, "sla_calendar_list")
    page.get_by_role("link", name="China office hours").click()
    page.get_by_role("link", name="2026", exact=True).click()
    expect(page).to_have_url(re.compile(r"\?year=2026#calendar-days$"))
    days = page.locator("#day-table")
    spring = days.locator('tr:has(time[datetime="2026-02-17"])')
    expect(spring).to_contain_text("Spring Festival")
    expect(spring).to_contain_text("chinese-calendar package")
    expect(days.get_by_role("row", name=re.compile("Extra working day")).first).to_contain_text(
        "09:00–12:00, 13:30–18:00"
    )
    screenshot(page, "sla_calendar_china")

    # An administrator gets the way into the admin to edit.
    page.context.clear_cookies()
    sign_in(page, "admin")
    page.goto(f"/sla/agreements/{standard.pk}/")
    expect(page.get_by_role("link", name="Edit in admin").first).to_have_attribute(
        "href", f"/admin/sla/agreement/{standard.pk}/change/"
    )
