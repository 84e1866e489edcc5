"""SLA clocks in a real browser: an agent sees a bar per clock on the incident page, the
clock pauses while the incident waits on the customer, and the queue sorts by SLA due."""

import datetime as dt

import pytest
from playwright.sync_api import expect

from incidents.choices import PendingReason
from incidents.services import incident_assign, incident_create, incident_pend, incident_start
from sla.choices import Metric, PauseReason
from tests.sla.factories import AgreementFactory, TargetFactory

pytestmark = pytest.mark.browser


def test_agent_sees_the_clocks_of_an_incident_pause_and_sort_by_sla_due(
    page, agent, customer_a, sign_in, screenshot
):
    agreement = AgreementFactory(name="Standard support")
    TargetFactory(
        agreement=agreement,
        name="P3 response",
        metric=Metric.RESPONSE,
        priorities=[3],
        duration=dt.timedelta(hours=1),
    )
    TargetFactory(
        agreement=agreement,
        name="P3 resolution",
        priorities=[3],
        duration=dt.timedelta(hours=8),
        pause_on=[PauseReason.CUSTOMER],
    )
    later = incident_create(actor=agent, caller=customer_a, title="Printer jams on tray 2")
    incident = incident_create(actor=agent, caller=customer_a, title="Cannot open the CRM")
    incident = incident_assign(actor=agent, incident=incident, group=None, assignee=agent)
    incident_start(actor=agent, incident=incident)
    sign_in(page, "agent")

    page.goto(incident.get_absolute_url())
    clocks = page.locator("#sla")
    expect(clocks).to_contain_text("First response")
    expect(clocks).to_contain_text("Met after")
    resolution = clocks.locator(".sla-clock").filter(has_text="Resolution")
    expect(resolution).to_contain_text("P3 resolution")
    expect(resolution).to_contain_text("left")
    expect(resolution).to_contain_text("Standard support")
    expect(page.locator(".inc-sla")).to_contain_text("SLA due")
    resolution.get_by_text("Clock history").click()
    expect(resolution.locator(".sla-history")).to_contain_text("Started")
    screenshot(page, "sla-clocks-running")

    incident_pend(actor=agent, incident=incident, reason=PendingReason.AWAITING_CUSTOMER)
    page.reload()
    resolution = page.locator("#sla .sla-clock").filter(has_text="Resolution")
    expect(resolution).to_contain_text("Paused (Awaiting customer)")
    expect(resolution.locator("progress.sla-bar-paused")).to_be_visible()
    expect(page.locator(".inc-sla")).to_contain_text("No SLA clock running")
    screenshot(page, "sla-clocks-paused")

    page.goto("/incidents/?queue=open&sort=sla_due")
    rows = page.locator("table tbody tr")
    # The running one first (its response is due in an hour); the paused one has no due.
    expect(rows.first).to_contain_text(later.number)
    expect(rows.nth(1)).to_contain_text(incident.number)
    expect(rows.nth(1)).to_contain_text("—")
    screenshot(page, "sla-queue-sorted")
