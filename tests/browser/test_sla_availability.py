"""Availability in a real browser: a manager opens a service's CI page, sees the agreements
covering it, records outages there and watches the measured availability change."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from incidents.services import incident_create
from sla.availability import service_availability_months
from sla.choices import Metric
from sla.models import ServiceOutage
from tests.config_items.conftest import cmdb_defaults_create
from tests.config_items.factories import ConfigurationItemFactory, ci_class
from tests.sla.factories import AgreementFactory, TargetFactory

pytestmark = pytest.mark.browser

INPUT_FORMAT = "%Y-%m-%dT%H:%M"


def _measured(service) -> str:
    """This month's measured availability as the card shows it."""
    return f"{service_availability_months(service=service)[0]['measured_percent']} %"


def test_manager_records_outages_and_sees_availability_change(
    page, manager, agent, sign_in, screenshot
):
    cmdb_defaults_create()
    shop = ConfigurationItemFactory(name="Online shop", ci_class=ci_class("business_service"))
    agreement = AgreementFactory(name="Online shop SLA", reference="SLA-042", services=[shop])
    TargetFactory(
        agreement=agreement,
        name="Monthly availability",
        metric=Metric.AVAILABILITY,
        duration=None,
        calendar=None,
        availability_percent=Decimal("99.9000"),
    )
    TargetFactory(agreement=agreement, name="P1 resolution", priorities=[1])
    incident = incident_create(actor=agent, title="Checkout fails with error 502")
    now = timezone.localtime(timezone.now()).replace(second=0, microsecond=0)
    sign_in(page, "manager")

    page.goto(shop.get_absolute_url())
    agreements = page.locator("#agreements")
    availability = agreements.locator("[data-month]").first
    expect(agreements).to_contain_text("Online shop SLA")
    expect(agreements).to_contain_text("P1 resolution")
    expect(availability).to_contain_text("100.0000 %")
    expect(agreements.locator("#availability")).to_contain_text("Target 99.9000 %")
    outages = page.locator("#outages")
    expect(outages).to_contain_text("No outages recorded")

    # An outage of 40 minutes that has ended, linked to the incident.
    outages.get_by_role("button", name="Record outage").click()
    form = page.locator("#outage-form")
    form.get_by_label("Start").fill((now - dt.timedelta(hours=3)).strftime(INPUT_FORMAT))
    form.get_by_label("End").fill((now - dt.timedelta(hours=2, minutes=20)).strftime(INPUT_FORMAT))
    form.get_by_label("Incident").fill(incident.number)
    form.get_by_label("Description").fill("Payment gateway returned 502 for every order.")
    page.locator("#outages").scroll_into_view_if_needed()
    screenshot(page, "sla_outage_form")
    form.get_by_role("button", name="Record outage").click()

    expect(outages.locator("#outage-table")).to_contain_text(incident.number)
    expect(outages.locator("#outage-table")).to_contain_text("40 min")
    outage = ServiceOutage.objects.get()
    assert outage.ended_at - outage.started_at == dt.timedelta(minutes=40)
    assert outage.incident == incident
    measured = _measured(shop)
    assert measured != "100.0000 %"
    expect(availability).to_contain_text(measured)

    # An outage still going on, ended from its row.
    outages.get_by_role("button", name="Record outage").click()
    form.get_by_label("Start").fill((now - dt.timedelta(minutes=30)).strftime(INPUT_FORMAT))
    form.get_by_role("button", name="Record outage").click()
    ongoing = outages.locator("tr", has_text="Ongoing")
    expect(ongoing).to_have_count(1)
    screenshot(page, "sla_outages")
    outages.get_by_label("Ended at").fill((now - dt.timedelta(minutes=10)).strftime(INPUT_FORMAT))
    # Ended at once, while the card may still be reloading for the outage just recorded:
    # the card keeps listening through its own reloads.
    outages.get_by_role("button", name="End outage").click()

    expect(outages.locator("tr", has_text="Ongoing")).to_have_count(0)
    expect(outages.locator("#outage-table")).to_contain_text("20 min")
    assert ServiceOutage.objects.filter(ended_at__isnull=True).count() == 0
    expect(availability).to_contain_text(_measured(shop))
    agreements.scroll_into_view_if_needed()
    screenshot(page, "sla_service_availability", full_page=False)
    screenshot(page, "sla_service_page")


def test_an_overlapping_outage_is_refused_in_the_form(page, manager, sign_in, screenshot):
    cmdb_defaults_create()
    shop = ConfigurationItemFactory(name="Online shop", ci_class=ci_class("business_service"))
    now = timezone.localtime(timezone.now()).replace(second=0, microsecond=0)
    sign_in(page, "manager")
    page.goto(shop.get_absolute_url())
    outages = page.locator("#outages")

    outages.get_by_role("button", name="Record outage").click()
    page.locator("#outage-form").get_by_label("Start").fill(
        (now - dt.timedelta(hours=1)).strftime(INPUT_FORMAT)
    )
    page.locator("#outage-form").get_by_role("button", name="Record outage").click()
    expect(outages.locator("tr", has_text="Ongoing")).to_have_count(1)
    outages.get_by_role("button", name="Record outage").click()
    form = page.locator("#outage-form")
    form.get_by_label("Start").fill((now - dt.timedelta(minutes=30)).strftime(INPUT_FORMAT))
    form.get_by_role("button", name="Record outage").click()

    expect(form).to_contain_text("This overlaps another outage of the service.")
    screenshot(page, "sla_outage_overlap")
    assert ServiceOutage.objects.count() == 1


def test_the_card_hears_a_change_announced_while_it_is_swapping_in(page, manager, sign_in):
    """A change announced between a reload's swap and its settling reloads the card again
    (a card that replaced itself had no listener until htmx had settled it)."""
    cmdb_defaults_create()
    shop = ConfigurationItemFactory(name="Online shop", ci_class=ci_class("business_service"))
    AgreementFactory(name="Online shop SLA", services=[shop])
    sign_in(page, "manager")
    page.goto(shop.get_absolute_url())
    expect(page.locator("#service-agreements")).to_contain_text("Online shop SLA")
    page.wait_for_function(
        "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')"
    )
    reloads = []
    page.on(
        "request",
        lambda request: reloads.append(request.url) if "/agreements/" in request.url else None,
    )
    # The second announcement comes right after the first reload is swapped in, before
    # htmx settles it.
    page.evaluate(
        """() => {
          document.body.addEventListener("htmx:afterSwap", (event) => {
            if (event.detail.target.id === "service-agreements") {
              htmx.trigger(document.body, "outagesChanged");
            }
          }, {once: true});
          htmx.trigger(document.body, "outagesChanged");
        }"""
    )

    page.wait_for_function(
        "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')"
    )
    expect(page.locator("#service-agreements")).to_contain_text("Online shop SLA")
    page.wait_for_timeout(300)  # a reload that was heard has been requested by now
    assert len(reloads) == 2
    assert page.locator("#service-agreements").count() == 1  # not nested in itself
