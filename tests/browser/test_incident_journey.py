"""Issue 4's journey across both UIs in a real browser: an agent logs a phone incident,
assigns it and resolves it; the customer sees the resolution in the portal and rejects it;
the agent resolves it again; the customer confirms it and rates it."""

import re

import pytest
from playwright.sync_api import expect

from incidents.choices import IncidentStatus
from incidents.models import Incident

pytestmark = pytest.mark.browser


def _resolve(page, code: str, notes: str) -> None:
    page.get_by_role("button", name="Resolve…").click()
    dialog = page.locator("#modal-resolve")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Resolution code").select_option(code)
    dialog.get_by_label("Resolution notes").fill(notes)
    dialog.get_by_role("button", name="Resolve").click()
    expect(page.locator(".inc-header-meta")).to_contain_text("Resolved")


def _switch_user(page, sign_in, username: str) -> None:
    page.context.clear_cookies()
    sign_in(page, username)


def test_phone_incident_resolved_rejected_resolved_confirmed_and_rated(
    page,
    agent,
    customer_a,
    desk,
    sign_in,
):
    # The agent logs the call and takes it.
    sign_in(page, "agent")
    page.goto("/incidents/new/")
    page.get_by_label("Who is calling?").press_sequentially("wend", delay=30)
    page.locator("#caller-results").get_by_role("option", name=re.compile("Wendy Walker")).click()
    page.get_by_label("Short description").fill("Laptop docking station not detected")
    page.get_by_role("button", name="Log incident").click()
    incident = Incident.objects.get(title="Laptop docking station not detected")
    expect(page.get_by_role("heading", level=1)).to_contain_text(incident.number)
    page.get_by_role("button", name="Assign to me").click()
    expect(page.locator("#assignee-name")).to_contain_text(agent.get_full_name())
    _resolve(page, "solved_workaround", "Updated the dock firmware.")

    # The customer sees the resolution in the portal and rejects it.
    _switch_user(page, sign_in, "cust_a")
    page.goto(f"/portal/incidents/{incident.pk}/")
    expect(page.locator("#resolution")).to_contain_text("Updated the dock firmware.")
    page.get_by_role("button", name="No, still broken").click()
    # The panel opens with a transition: wait until it is shown.
    expect(page.locator("#reject-panel")).to_have_class(re.compile(r"\bshow\b"))
    page.get_by_label("What is still not working?").fill("The second screen stays black.")
    page.get_by_role("button", name="Send back to the service desk").click()
    expect(page.locator("#incident-details")).to_contain_text("Being worked on")
    incident.refresh_from_db()
    assert (incident.status, incident.reopen_count) == (IncidentStatus.IN_PROGRESS, 1)

    # The agent sees the rejection on the timeline and resolves again.
    _switch_user(page, sign_in, "agent")
    page.goto(incident.get_absolute_url())
    expect(page.locator("#timeline")).to_contain_text("The second screen stays black.")
    _resolve(page, "solved_permanently", "Replaced the DisplayPort cable.")

    # The customer confirms and rates it.
    _switch_user(page, sign_in, "cust_a")
    page.goto(f"/portal/incidents/{incident.pk}/")
    expect(page.locator("#resolution-notes")).to_contain_text("Replaced the DisplayPort cable.")
    page.get_by_role("button", name="Yes, it's fixed").click()
    expect(page.locator("#incident-details")).to_contain_text("Closed")
    page.locator('#rating-form label[title="5 stars"]').click()
    page.get_by_label("Anything you would like to tell us?").fill("Sorted on the second try.")
    page.get_by_role("button", name="Send rating").click()
    expect(page.locator("#rating-given")).to_contain_text("You rated this 5 out of 5.")

    incident.refresh_from_db()
    assert incident.status == IncidentStatus.CLOSED
    assert (incident.reopen_count, incident.rating.score) == (1, 5)
