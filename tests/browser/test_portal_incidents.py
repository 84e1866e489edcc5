"""The customer side of an incident in a real browser: raise with a file, see the
resolution, reject it, confirm the second one and rate it."""

import re

import pytest
from playwright.sync_api import expect

from incidents.choices import IncidentStatus, ResolutionCode
from incidents.models import Incident, SatisfactionRating
from incidents.services import incident_assign, incident_resolve, incident_start
from tests.config_items.conftest import cmdb_defaults_create
from tests.config_items.factories import ConfigurationItemFactory, ci_class
from tests.factories import SupportGroupFactory
from tests.incidents.conftest import incident_defaults_create

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def defaults(transactional_db):
    """The live server flushes the tables the data migrations filled."""
    incident_defaults_create()
    cmdb_defaults_create()


def test_customer_raises_rejects_confirms_and_rates_an_incident(
    page, org_a, customer_a, agent, sign_in, screenshot, tmp_path
):
    email = ConfigurationItemFactory(name="E-mail", ci_class=ci_class("business_service"))
    email.organisations.set([org_a])
    desk = SupportGroupFactory(name="Service desk")
    desk.members.add(agent)
    log = tmp_path / "printer-error.txt"
    log.write_text("E-204 paper jam in tray 2\n")
    sign_in(page, "cust_a")

    page.get_by_role("link", name="Raise a ticket").first.click()
    expect(page).to_have_url(re.compile(r"/portal/raise/$"))
    expect(page.get_by_label("Which service is affected?")).to_contain_text("E-mail")
    page.get_by_label("What kind of problem is it?").select_option(label="Hardware")
    subcategory = page.get_by_label("More precisely")
    expect(subcategory.locator("option", has_text="Printer")).to_have_count(1)
    subcategory.select_option(label="Printer")
    page.get_by_label("Short description").fill("Printer on floor 2 jams every page")
    page.get_by_label("What happened?").fill("Since this morning, error **E-204**.")
    page.get_by_label("Several people or my team").check()
    page.get_by_label("It slows my work down").check()
    page.get_by_label("Attach files").set_input_files(str(log))
    screenshot(page, "portal_raise_incident")
    page.get_by_role("button", name="Submit").click()

    expect(page).to_have_url(re.compile(r"/portal/incidents/\d+/$"))
    expect(page.locator(".messages")).to_contain_text("has been raised")
    expect(page.locator("#timeline")).to_contain_text("printer-error.txt")
    incident = Incident.objects.get()
    assert (incident.channel, incident.impact, incident.urgency) == ("portal", 2, 2)
    assert incident.category.name == "Hardware"
    assert incident.subcategory.name == "Printer"
    assert incident.service is None

    incident_assign(actor=agent, incident=incident, group=desk, assignee=agent)
    incident_start(actor=agent, incident=incident)
    incident_resolve(
        actor=agent,
        incident=incident,
        code=ResolutionCode.SOLVED_PERMANENTLY,
        notes="Removed a torn sheet from tray 2.",
    )
    page.reload()

    resolution = page.locator("#resolution")
    expect(resolution).to_contain_text("The service desk has solved this incident")
    expect(resolution).to_contain_text("Removed a torn sheet from tray 2.")
    screenshot(page, "portal_incident_resolved")
    page.get_by_role("button", name="No, still broken").click()
    # The panel opens with a transition: wait until it is shown.
    expect(page.locator("#reject-panel")).to_have_class(re.compile(r"\bshow\b"))
    page.get_by_label("What is still not working?").fill("It jams again after ten pages.")
    page.get_by_role("button", name="Send back to the service desk").click()

    expect(page.locator(".messages")).to_contain_text("not solved yet")
    expect(page.locator("#incident-details")).to_contain_text("Being worked on")
    expect(page.locator("#timeline")).to_contain_text("It jams again after ten pages.")
    expect(page.locator("#timeline")).to_contain_text("from Solved to Being worked on")
    incident.refresh_from_db()
    assert (incident.status, incident.reopen_count) == (IncidentStatus.IN_PROGRESS, 1)

    incident_resolve(
        actor=agent,
        incident=incident,
        code=ResolutionCode.SOLVED_PERMANENTLY,
        notes="Replaced the worn feed roller.",
    )
    page.reload()
    expect(page.locator("#resolution-notes")).to_contain_text("Replaced the worn feed roller.")
    page.get_by_role("button", name="Yes, it's fixed").click()

    expect(page.locator(".messages")).to_contain_text("The incident is now closed.")
    expect(page.locator("#incident-details")).to_contain_text("Closed")
    page.locator('#rating-form label[title="5 stars"]').click()
    page.get_by_label("Anything you would like to tell us?").fill("Quick and friendly, thanks!")
    page.get_by_role("button", name="Send rating").click()

    expect(page.locator("#rating-given")).to_contain_text("You rated this 5 out of 5.")
    screenshot(page, "portal_incident_closed_rated")
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.CLOSED
    rating = SatisfactionRating.objects.get(incident=incident)
    assert (rating.score, rating.comment) == (5, "Quick and friendly, thanks!")

    page.get_by_role("link", name="My tickets").first.click()
    page.get_by_role("link", name=re.compile("Closed")).click()
    expect(page.locator("#ticket-list")).to_contain_text(incident.number)
    screenshot(page, "portal_my_tickets_closed")

    page.get_by_role("link", name="Home").first.click()
    expect(page.locator("#latest-incidents")).to_contain_text(incident.number)
    expect(page.locator("#portal-counts")).to_contain_text("Open")
    screenshot(page, "portal_home_with_incidents")
