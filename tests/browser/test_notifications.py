"""The top-bar bell in a real browser: count, dropdown loaded by HTMX, mark all read."""

import pytest
from playwright.sync_api import expect

from notifications.models import Notification

pytestmark = pytest.mark.browser


def test_agent_opens_the_bell_and_marks_everything_read(page, agent, sign_in, screenshot):
    for n in (1, 2):
        Notification.objects.create(
            recipient=agent,
            topic="incident.assigned",
            title=f"[INC000000{n}] Assigned to you: printer {n}",
            url="/",
            dedup_key=f"browser:{n}",
        )
    sign_in(page, "agent")
    badge = page.locator("#notification-count")
    expect(badge).to_have_text("2")

    page.locator("#notifications-menu").click()

    menu = page.locator("#notification-menu")
    expect(menu).to_contain_text("[INC0000002] Assigned to you: printer 2")
    expect(menu).to_contain_text("[INC0000001] Assigned to you: printer 1")
    screenshot(page, "notifications-bell", full_page=False)
    menu.get_by_role("button", name="Mark all read").click()
    expect(badge).to_have_text("0")
    assert not Notification.objects.filter(recipient=agent, read_at__isnull=True).exists()
