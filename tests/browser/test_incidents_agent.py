"""The incident workspace in a real browser: an agent logs a phone call with the caller
lookup, takes the incident, resolves it, and uses the queues and a bulk action."""

import re

import pytest
from playwright.sync_api import expect

from core.models import SavedFilter
from incidents.choices import IncidentStatus
from incidents.models import Incident

pytestmark = pytest.mark.browser


def test_agent_logs_a_phone_call_takes_it_and_resolves_it(page, agent, desk, sign_in, screenshot):
    sign_in(page, "agent")

    # The queues: my groups by default, with counts.
    page.locator("#sidebar").get_by_role("link", name="Incidents").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Incidents")
    expect(page.locator("[data-queue=groups] .queue-count")).to_have_text("3")
    expect(page.locator("#incident-results")).to_contain_text("Payroll export fails")
    screenshot(page, "incidents_queue")

    # Log the call: look the caller up as you type, pick her, the priority follows.
    page.get_by_role("link", name="Log incident").click()
    expect(page.get_by_label("Channel")).to_have_value("phone")
    page.get_by_label("Who is calling?").press_sequentially("wend", delay=30)
    page.locator("#caller-results").get_by_role("option", name=re.compile("Wendy Walker")).click()
    expect(page.locator("#caller-card")).to_contain_text("Acme Trading")
    page.get_by_label("Short description").fill("Outlook cannot send mail")
    page.get_by_label("Service").select_option(label="E-mail")
    page.get_by_label("Category", exact=True).select_option(label="Software")
    expect(page.locator("#id_subcategory option")).not_to_have_count(1)
    page.get_by_label("Subcategory").select_option(index=1)
    page.get_by_label("Description", exact=True).fill("Messages stay in the **outbox** since 9:00.")
    page.get_by_label("Impact").select_option("1")
    page.get_by_label("Urgency").select_option("1")
    expect(page.locator("#priority-preview")).to_have_text("1 - Critical")
    page.get_by_label("Urgency").select_option("3")
    expect(page.locator("#priority-preview")).not_to_have_text("1 - Critical")
    page.get_by_label("Urgency").select_option("2")
    screenshot(page, "incidents_create")
    page.get_by_role("button", name="Log incident").click()

    incident = Incident.objects.get(title="Outlook cannot send mail")
    expect(page.get_by_role("heading", level=1)).to_contain_text(incident.number)
    expect(page.locator(".alert-success")).to_contain_text("logged")
    assert incident.channel == "phone" and incident.caller.username == "cust_a"

    # Take it, start it, and resolve it with a code and notes.
    page.get_by_role("button", name="Assign to me").click()
    expect(page.locator("#assignee-name")).to_contain_text(agent.get_full_name())
    page.get_by_role("button", name="Start work").click()
    expect(page.locator(".inc-header-meta")).to_contain_text("In progress")
    page.get_by_label("Message").fill("Cleared the stuck **outbox**; sending works again.")
    page.get_by_text("Public reply").click()
    page.get_by_role("button", name="Add to timeline").click()
    expect(page.locator("#timeline")).to_contain_text("sending works again")
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "incidents_detail")
    page.get_by_role("button", name="Resolve…").click()
    dialog = page.locator("#modal-resolve")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Resolution code").select_option("solved_permanently")
    dialog.get_by_label("Resolution notes").fill("Outbox cleared, profile repaired.")
    dialog.get_by_role("button", name="Resolve").click()
    expect(page.locator(".inc-header-meta")).to_contain_text("Resolved")

    incident.refresh_from_db()
    assert incident.status == IncidentStatus.RESOLVED
    assert incident.assignee == agent and incident.assignment_group == desk
    screenshot(page, "incidents_detail_resolved")


def test_bulk_assign_from_the_queue_reports_each_row(page, agent, desk, sign_in, screenshot):
    sign_in(page, "agent")
    page.goto("/incidents/?queue=unassigned")
    expect(page.locator("#incident-results tbody tr")).to_have_count(2)

    page.locator("#bulk-all").check()
    expect(page.locator("#bulk-selected")).to_have_text("2 selected")
    page.get_by_label("Bulk action").select_option("assign_to_me")
    page.get_by_role("button", name="Apply").click()

    expect(page.locator("#bulk-results")).to_contain_text("2 succeeded")
    expect(page.locator("#incident-results")).to_contain_text("No incidents here")
    screenshot(page, "incidents_bulk")
    assert Incident.objects.filter(assignee=agent).count() == 3

    # A filter set over HTMX is saved under a name and opens again from the menu.
    page.goto("/incidents/?queue=all")
    page.locator("#id_q").fill("printer")
    expect(page.locator("#incident-results tbody tr")).to_have_count(1)
    page.get_by_role("button", name="Saved filters").click()
    page.get_by_label("Save the current filter as").fill("Printers")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".alert-success")).to_contain_text("Printers")
    assert "q=printer" in SavedFilter.objects.get(owner=agent, name="Printers").query_string
    page.goto("/incidents/")
    page.get_by_role("button", name="Saved filters").click()
    page.get_by_role("link", name="Printers").click()
    expect(page.locator("#incident-results tbody tr")).to_have_count(1)
