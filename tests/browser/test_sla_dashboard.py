"""The SLA dashboard in a real browser: a manager reads attainment and its trend, filters
by organisation, drills down to the breaches of a service and opens the monthly report."""

import datetime as dt
import re

import pytest
from django.core.cache import cache
from django.utils import timezone
from playwright.sync_api import expect

from sla.choices import ClockState
from sla.models import AttainmentRollup
from sla.selectors import month_label
from sla.views import _months_back
from tests.config_items.conftest import cmdb_defaults_create
from tests.factories import OrganisationFactory
from tests.incidents.conftest import incident_defaults_create
from tests.sla.test_selectors import clock, desk_create, rollup

pytestmark = pytest.mark.browser


def test_manager_reads_the_sla_dashboard_and_opens_a_report(page, manager, sign_in, screenshot):
    incident_defaults_create()
    cmdb_defaults_create()
    cache.clear()
    desk = desk_create()
    AttainmentRollup.objects.all().delete()  # figures of the last months only
    this_month = timezone.localdate().replace(day=1)
    last_month = _months_back(this_month, 1)
    for month, met, breached in ((_months_back(this_month, 2), 40, 2), (last_month, 45, 5)):
        rollup(
            month,
            desk.resolution,
            service=desk.shop,
            organisation=desk.acme,
            group=desk.desk,
            priority=2,
            met=met,
            breached=breached,
        )
    rollup(
        last_month,
        desk.response,
        service=desk.mail,
        organisation=desk.bluebird,
        group=desk.network,
        priority=3,
        met=9,
        breached=3,
    )
    moment = dt.datetime.combine(last_month + dt.timedelta(days=9), dt.time(10), dt.UTC)
    overdue = clock(
        desk,
        state=ClockState.BREACHED,
        stopped_at=moment,
        breached_at=moment - dt.timedelta(hours=2),
        organisation=desk.bluebird,
        target=desk.response,
    )
    overdue.service = desk.mail
    overdue.save(update_fields=["service"])
    desk.resolution.agreement.services.set([desk.shop])
    sign_in(page, "manager")

    # The dashboard from the navigation: attainment tables, the trend chart, totals.
    page.locator("#sidebar").get_by_role("link", name="SLA dashboard").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("SLA dashboard")
    service_table = page.locator("#sla-service-table")
    expect(service_table.get_by_role("row", name=re.compile("Online shop"))).to_contain_text(
        "92.4 %"
    )
    expect(service_table.get_by_role("row", name=re.compile("E-mail"))).to_contain_text("75.0 %")
    expect(page.locator("#sla-totals")).to_contain_text("90.4 %")
    expect(page.locator("#sla-trend-chart")).to_be_visible()
    page.wait_for_load_state("load")
    assert page.evaluate("window.slaTrendChart.data.labels.length") == 12
    assert page.evaluate("window.slaTrendChart.data.datasets[0].data.slice(-3)") == [
        95.2,
        87.1,
        None,
    ]
    expect(page.locator("#breaches")).to_contain_text(overdue.ticket.number)
    screenshot(page, "sla_dashboard")

    # Filter by organisation: only Bluebird's figures remain.
    page.get_by_label("Organisation", exact=True).select_option(label="Bluebird Logistics")
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(rf"organisation={desk.bluebird.pk}"))
    expect(page.locator("#sla-active-filters")).to_contain_text("Bluebird Logistics")
    expect(service_table.get_by_role("row")).to_have_count(2)
    expect(service_table).to_contain_text("75.0 %")
    expect(page.locator("#sla-organisation-table")).not_to_contain_text("Acme Trading")

    # Drill down: the service row filters by it and shows its breaches with record links.
    service_table.get_by_role("link", name="E-mail").click()
    expect(page).to_have_url(re.compile(rf"service={desk.mail.pk}#breaches"))
    expect(page.locator("#sla-active-filters")).to_contain_text("E-mail")
    page.locator("#breaches").get_by_role("link", name=overdue.ticket.number).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(overdue.ticket.number)

    # The monthly report of Acme for last month, and its PDF.
    page.goto("/sla/")
    page.get_by_role("link", name="Monthly reports").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Service-level reports")
    screenshot(page, "sla_report_list")
    page.get_by_role("link", name=f"Report of Acme Trading for {month_label(last_month)}").click()
    expect(page.locator("#report-subject")).to_contain_text("Acme Trading")
    expect(page.locator("#report-targets")).to_contain_text("Resolve P1-P3")
    expect(page.locator("#report-targets")).to_contain_text("90.0 %")
    expect(page.locator("#report-availability")).to_contain_text("Online shop")
    screenshot(page, "sla_report")
    pdf_url = page.get_by_role("link", name="Download PDF").get_attribute("href")
    pdf = page.request.get(pdf_url)
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.body().startswith(b"%PDF")

    # The same report in the customer's language (Chinese).
    page.get_by_role("button", name="Language of the report").click()
    page.get_by_role("link", name="Simplified Chinese").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.locator("#report-subject")).to_contain_text(f"{last_month.year}年")
    screenshot(page, "sla_report_zh")
    pdf = page.request.get(page.locator("a[href*='/pdf/']").get_attribute("href"))
    assert pdf.body().startswith(b"%PDF")


def test_manager_expands_the_organisation_table_and_drills_into_one(
    page, manager, sign_in, screenshot
):
    incident_defaults_create()
    cmdb_defaults_create()
    cache.clear()
    desk = desk_create()
    AttainmentRollup.objects.all().delete()
    last_month = _months_back(timezone.localdate().replace(day=1), 1)
    customers = [OrganisationFactory(name=f"Customer {n:02d}") for n in range(20)]
    for n, customer in enumerate(customers):
        rollup(
            last_month,
            desk.resolution,
            service=desk.shop,
            organisation=customer,
            group=desk.desk,
            priority=2,
            met=50 + n,
            breached=20 - n,
        )
    sign_in(page, "manager")

    # The worst 15 customers, lowest attainment first, and a link to all 20.
    page.goto("/sla/")
    organisations = page.locator("#sla-organisation-table")
    expect(organisations).to_contain_text("Lowest attainment first: 15 of 20")
    expect(organisations.locator("tbody tr")).to_have_count(15)
    expect(organisations.locator("tbody tr").first).to_contain_text("Customer 00")
    expect(organisations.locator("tbody tr").first).to_contain_text("71.4 %")

    # "Show all" replaces the table in place, still worst first.
    organisations.get_by_role("link", name="Show all 20").click()
    expect(organisations.locator("tbody tr")).to_have_count(20)
    expect(organisations.locator("tbody tr").last).to_contain_text("Customer 19")
    expect(organisations.get_by_role("link", name="Show all 20")).to_have_count(0)
    expect(page).to_have_url(re.compile(r"/sla/$"))
    screenshot(page, "sla_dashboard_all_organisations")

    # A row of the expanded table drills down like any other.
    organisations.get_by_role("link", name="Customer 19").click()
    expect(page).to_have_url(re.compile(rf"/sla/\?.*organisation={customers[19].pk}#breaches"))
    expect(page.locator("#sla-active-filters")).to_contain_text("Customer 19")
