"""The CMDB in a real browser: create CIs, relate them, see the impact graph, import."""

import re
import time

import pytest
from playwright.sync_api import expect

from config_items.imports import import_job_run
from config_items.models import ConfigurationItem, ImportJob
from incidents.services import incident_create
from tests.config_items.conftest import cmdb_defaults_create
from tests.config_items.factories import ConfigurationItemFactory, ci_class

pytestmark = pytest.mark.browser


def _graph_labels(page, count: int) -> list[str]:
    """The labels of the drawn graph once it has `count` nodes (polled: the CSP forbids
    the eval that wait_for_function would need)."""
    script = "window.cmdbGraph ? window.cmdbGraph.nodes().map(n => n.data('label')).sort() : []"
    deadline = time.monotonic() + 10
    labels = page.evaluate(script)
    while len(labels) != count and time.monotonic() < deadline:
        page.wait_for_timeout(100)
        labels = page.evaluate(script)
    return labels


def _relate(page, kind: str, search: str, name: str) -> None:
    form = page.locator("#relationship-form")
    form.get_by_label(re.compile("…$")).select_option(label=kind)
    form.get_by_placeholder("Type to search CIs…").fill(search)
    page.locator("#rel-target-results").get_by_role("option", name=re.compile(name)).click()
    form.get_by_role("button", name="Add").click()
    expect(page.locator("#relationships-panel")).to_contain_text(name)


def test_agent_builds_a_service_chain_and_sees_its_impact(
    page, agent, manager, org_a, customer_a, sign_in, screenshot, tmp_path
):
    cmdb_defaults_create()
    shop = ConfigurationItemFactory(name="Online shop", ci_class=ci_class("business_service"))
    shop.organisations.set([org_a])
    for n in range(6):
        ConfigurationItemFactory(
            name=f"srv-{n:02d}",
            ci_class=ci_class("server"),
            attributes={"os": "Linux", "cpu_cores": 4, "ram_gb": 16},
        )
    sign_in(page, "agent")

    # The list, filtered to servers: the class's columns appear.
    page.locator("#sidebar").get_by_role("link", name="CMDB").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Configuration items")
    page.get_by_label("Class").select_option(label="Server")
    expect(page.locator("#ci-results")).to_contain_text("Memory (GB)")
    expect(page).to_have_url(re.compile(r"ci_class=server"))
    expect(page.get_by_label("Operating system")).to_be_visible()
    screenshot(page, "cmdb_list")

    # A server with attributes, created through the form (class picked first).
    page.get_by_role("link", name="New CI").click()
    page.get_by_role("link", name=re.compile("^Server")).click()
    page.locator("#id_name").fill("web-01")
    page.get_by_label("Operating system").select_option("Linux")
    page.get_by_label("Memory").fill("1.5")
    page.get_by_role("button", name="Create").click()
    expect(page.locator("#ci-form")).to_contain_text("Enter a whole number.")
    page.get_by_label("Memory").fill("32")
    page.get_by_label("CPU cores").fill("8")
    page.get_by_label("IP address").fill("10.0.0.11")
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "cmdb_form")
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("web-01")
    expect(page.locator("#attributes-title")).to_be_visible()
    server = ConfigurationItem.objects.get(name="web-01")
    assert server.attributes == {
        "os": "Linux",
        "ram_gb": 32,
        "cpu_cores": 8,
        "ip_address": "10.0.0.11",
    }

    # An application that runs on the server and that the shop depends on.
    page.goto("/cmdb/new/")
    page.get_by_role("link", name=re.compile("^Application")).click()
    page.locator("#id_name").fill("shop-app")
    page.get_by_label("Version").fill("2.1")
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("shop-app")
    _relate(page, "runs on", "web-0", "web-01")
    _relate(page, "used by", "online", "Online shop")

    # The server's page: the shop is affected, and the graph draws all three.
    page.goto(server.get_absolute_url())
    expect(page.locator("#affected-services")).to_contain_text("Online shop")
    expect(page.locator("#impact-panel")).to_contain_text("Acme Trading")
    assert _graph_labels(page, 3) == ["Online shop", "shop-app", "web-01"]
    assert page.locator("[data-ci-graph] canvas").count() > 0
    screenshot(page, "cmdb_ci_page")

    # Upstream from the shop shows what it depends on.
    page.goto(shop.get_absolute_url())
    page.locator("label[for=direction-upstream]").click()
    expect(page.locator("#impact-panel")).to_contain_text("CIs this depends on")
    assert _graph_labels(page, 3) == ["Online shop", "shop-app", "web-01"]

    # An incident about the server: linking the CI shows the affected business service
    # and customer on the incident, and the CI page lists the open incident.
    incident = incident_create(
        actor=agent, caller=customer_a, title="Shop returns errors", channel="phone"
    )
    page.goto(incident.get_absolute_url())
    page.locator("#ci-add-search").fill("web-0")
    page.locator("#ci-add-results").get_by_role("option", name=re.compile("web-01")).click()
    page.locator("form[action$='/cis/']").get_by_role("button", name="Add").click()
    expect(page.locator("#affected")).to_contain_text("Online shop")
    expect(page.locator("#affected")).to_contain_text("Acme Trading")
    page.goto(server.get_absolute_url())
    expect(page.locator("#ci-incidents")).to_contain_text(incident.number)

    # A manager imports servers: dry run, report with a row error.
    page.context.clear_cookies()
    sign_in(page, "manager")
    page.goto("/cmdb/import/")
    csv_file = tmp_path / "servers.csv"
    csv_file.write_text("Name,OS,RAM (GB)\nweb-02,Linux,16\nweb-03,BeOS,x\n", encoding="utf-8")
    page.locator("#id_file").set_input_files(str(csv_file))
    page.get_by_label("Class").select_option(label="Server")
    page.get_by_role("button", name="Next: check the columns").click()
    expect(page.get_by_label("OS", exact=True)).to_have_value("attributes.os")
    # "RAM (GB)" matches no key or label: the manager maps it by hand.
    expect(page.get_by_label("RAM (GB)")).to_have_value("")
    page.get_by_label("RAM (GB)").select_option("attributes.ram_gb")
    page.get_by_role("button", name="Start the import").click()
    expect(page.locator("#import-status")).to_contain_text("Waiting for a worker")
    import_job_run(job_id=ImportJob.objects.get().pk)
    expect(page.get_by_role("button", name="Apply this import")).to_be_visible()
    expect(page.locator("#import-errors")).to_contain_text("attributes.os")
    screenshot(page, "cmdb_import_report")
    page.get_by_role("button", name="Apply this import").click()
    expect(page.locator("#import-status")).to_contain_text("Waiting for a worker")
