"""The notification list, the bell and marking read."""

import pytest
from django.urls import reverse
from django.utils import timezone

from notifications.models import Notification
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def notify(user, n: int, **fields) -> Notification:
    return Notification.objects.create(
        recipient=user,
        topic="incident.assigned",
        title=f"[INC{n:07d}] Assigned to you",
        url=f"/incidents/{n}/",
        dedup_key=f"k{n}",
        **fields,
    )


def test_the_bell_shows_the_unread_count_on_workspace_pages(client, agent):
    notify(agent, 1)
    notify(agent, 2)
    notify(agent, 3, read_at=timezone.now())
    notify(UserFactory(), 4)
    client.force_login(agent)

    response = client.get(reverse("core:home"))

    assert response.status_code == 200
    assert 'notification-count" data-count="2">2<' in response.content.decode()


def test_the_bell_shows_in_the_portal_too(client, customer_a):
    notify(customer_a, 1)
    client.force_login(customer_a)

    response = client.get(reverse("portal:home"))

    assert 'notification-count" data-count="1">1<' in response.content.decode()


def test_the_dropdown_lists_the_latest_and_updates_the_badge(
    client, agent, django_assert_max_num_queries
):
    for n in range(10):
        notify(agent, n)
    client.force_login(agent)

    with django_assert_max_num_queries(6):
        response = client.get(reverse("notifications:notification_menu"), HTTP_HX_REQUEST="true")

    body = response.content.decode()
    assert response.status_code == 200
    assert body.count('class="dropdown-item text-wrap fw-semibold"') == 8
    assert "[INC0000009] Assigned to you" in body
    assert 'hx-swap-oob="true"' in body and 'data-count="10"' in body


def test_the_list_shows_only_my_notifications(client, agent, manager):
    notify(agent, 1)
    notify(manager, 2)
    client.force_login(agent)

    response = client.get(reverse("notifications:notification_list"))

    assert [n.title for n in response.context["notifications"]] == ["[INC0000001] Assigned to you"]


def test_opening_a_notification_marks_it_read_and_follows_its_link(client, agent):
    notification = notify(agent, 7)
    client.force_login(agent)

    response = client.post(reverse("notifications:notification_read", args=[notification.pk]))

    assert response.status_code == 302
    assert response["Location"] == "/incidents/7/"
    notification.refresh_from_db()
    assert notification.read_at is not None


def test_someone_elses_notification_is_not_found(client, agent, manager):
    notification = notify(manager, 7)
    client.force_login(agent)

    response = client.post(reverse("notifications:notification_read", args=[notification.pk]))

    assert response.status_code == 404
    notification.refresh_from_db()
    assert notification.read_at is None


def test_an_off_site_next_is_ignored(client, agent):
    notification = notify(agent, 7)
    client.force_login(agent)

    response = client.post(
        reverse("notifications:notification_read", args=[notification.pk]),
        {"next": "https://evil.example.com/"},
    )

    assert response["Location"] == reverse("notifications:notification_list")


def test_mark_all_read_only_touches_mine(client, agent, manager):
    notify(agent, 1)
    notify(agent, 2)
    theirs = notify(manager, 3)
    client.force_login(agent)

    response = client.post(reverse("notifications:notification_read_all"), HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    assert 'data-count="0"' in response.content.decode()
    assert not Notification.objects.filter(recipient=agent, read_at__isnull=True).exists()
    theirs.refresh_from_db()
    assert theirs.read_at is None
