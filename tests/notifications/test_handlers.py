"""The incident handlers: who is notified of what, in which language, and only once."""

import pytest
from django.conf import settings
from django.core import mail
from django.db import transaction

from accounts.choices import Role
from config_items.models import ConfigurationItem
from core.models import OutboxMessage
from core.tasks import outbox_deliver_task
from incidents.notifications import incident_path_for
from incidents.services import (
    incident_assign,
    incident_comment,
    incident_create,
    incident_declare_major,
    incident_major_update,
    incident_reject_resolution,
    incident_resolve,
    incident_watch,
)
from notifications.models import Notification
from tests.config_items.factories import ConfigurationItemFactory, RelationshipFactory, ci_class
from tests.factories import OrganisationFactory, SupportGroupFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent2(roles):
    return UserFactory(username="agent2", roles=[Role.AGENT], language="zh-hans")


@pytest.fixture
def group(agent, agent2, manager):
    group = SupportGroupFactory(name="Service desk", manager=manager)
    group.members.add(agent, agent2)
    return group


@pytest.fixture
def incident(customer_a):
    return incident_create(actor=customer_a, title="Printer on fire & smoking")


def deliver(topic: str) -> OutboxMessage:
    """Run the delivery task for the (only) message of `topic`, as a worker would."""
    message = OutboxMessage.objects.get(topic=topic)
    outbox_deliver_task(message.pk)
    return message


def recipients(topic: str) -> set[str]:
    return set(
        Notification.objects.filter(topic=topic).values_list("recipient__username", flat=True)
    )


def email_to(user):
    (email,) = [m for m in mail.outbox if m.to == [user.email]]
    return email


def test_group_assignment_notifies_members_but_not_the_actor(incident, group, manager, agent):
    incident_assign(actor=manager, incident=incident, group=group)

    deliver("incident.assigned")

    assert recipients("incident.assigned") == {"agent", "agent2"}
    notification = Notification.objects.get(recipient=agent)
    assert (
        notification.title
        == f"[{incident.number}] Assigned to your group: Printer on fire & smoking"
    )
    assert notification.url == incident_path_for(incident, agent, is_customer=False)
    assert notification.url.endswith(f"/{incident.pk}/")
    assert notification.read_at is None
    assert notification.emailed_at is not None
    email = email_to(agent)
    assert email.subject == notification.title
    assert settings.ITSM_BASE_URL + notification.url in email.body
    assert "&amp;" not in email.body


def test_assignment_to_a_person_notifies_only_them(incident, group, manager, agent):
    incident_assign(actor=manager, incident=incident, group=group, assignee=agent)

    deliver("incident.assigned")

    assert recipients("incident.assigned") == {"agent"}
    assert (
        email_to(agent).subject == f"[{incident.number}] Assigned to you: Printer on fire & smoking"
    )
    assert len(mail.outbox) == 1


def test_each_recipient_gets_the_message_rendered_in_their_language(
    incident, group, manager, agent, agent2
):
    incident_assign(actor=manager, incident=incident, group=group)

    deliver("incident.assigned")

    html_en = email_to(agent).alternatives[0][0]
    html_zh = email_to(agent2).alternatives[0][0]
    assert '<html lang="en">' in html_en
    assert '<html lang="zh-hans">' in html_zh
    # The words too, not only the markup's language.
    number, title = incident.number, incident.title
    assert email_to(agent).subject == f"[{number}] Assigned to your group: {title}"
    assert email_to(agent2).subject == f"[{number}] 已分派给您所在的组：{title}"
    assert f"事件 {number} 已分派给您所在的组 {group.name}。" in email_to(agent2).body
    notes = dict(Notification.objects.values_list("recipient__username", "title"))
    assert notes["agent2"] != notes["agent"]


def test_a_change_rolled_back_leaves_nothing_to_send(incident, group, manager):
    with pytest.raises(RuntimeError), transaction.atomic():
        incident_assign(actor=manager, incident=incident, group=group)
        raise RuntimeError("the request failed after the assignment")

    assert not OutboxMessage.objects.exists()
    assert not Notification.objects.exists()
    incident.refresh_from_db()
    assert incident.assignment_group is None


def test_duplicate_delivery_notifies_and_emails_once(incident, group, manager):
    incident_assign(actor=manager, incident=incident, group=group)
    message = OutboxMessage.objects.get(topic="incident.assigned")

    outbox_deliver_task(message.pk)
    outbox_deliver_task(message.pk)

    assert Notification.objects.filter(topic="incident.assigned").count() == 2
    assert len(mail.outbox) == 2


def test_customer_reply_notifies_the_assignee(incident, group, manager, agent, customer_a):
    incident_assign(actor=manager, incident=incident, group=group, assignee=agent)

    incident_comment(actor=customer_a, incident=incident, body="It is still smoking.")
    deliver("incident.customer_replied")

    assert recipients("incident.customer_replied") == {"agent"}
    assert "It is still smoking." in email_to(agent).body


def test_resolution_notifies_caller_and_watchers_not_the_resolver(
    incident, group, agent, manager, customer_a
):
    incident_assign(actor=manager, incident=incident, group=group, assignee=agent)
    incident_watch(actor=agent, incident=incident, user=manager)
    mail.outbox.clear()

    incident_resolve(actor=agent, incident=incident, code="solved_permanently", notes="Swapped it.")
    deliver("incident.resolved")

    assert recipients("incident.resolved") == {"cust_a", "manager"}
    to_customer = Notification.objects.get(topic="incident.resolved", recipient=customer_a)
    assert to_customer.url == incident_path_for(incident, customer_a, is_customer=True)
    assert "/portal/" in to_customer.url
    assert "please confirm the resolution" in email_to(customer_a).body


def test_rejected_resolution_notifies_the_assignee_not_the_customer(
    incident, group, agent, manager, customer_a
):
    incident_assign(actor=manager, incident=incident, group=group, assignee=agent)
    incident_resolve(actor=agent, incident=incident, code="solved_permanently", notes="Swapped it.")

    incident_reject_resolution(actor=customer_a, incident=incident, reason="Still smoking.")
    deliver("incident.reopened")

    assert recipients("incident.reopened") == {"agent"}


def test_major_incident_reaches_managers_group_callers_and_affected_customers(
    group, agent, agent2, manager, customer_a, customer_b, org_a, roles
):
    shop = ConfigurationItemFactory(name="Online shop", ci_class=ci_class("business_service"))
    shop.organisations.set([org_a])
    database = ConfigurationItemFactory(name="shop-db")
    RelationshipFactory(source=shop, target=database)
    colleague = UserFactory(username="cust_a2", organisation=org_a, roles=[Role.CUSTOMER])
    child_caller = UserFactory(
        username="cust_c", organisation=OrganisationFactory(code="c"), roles=[Role.CUSTOMER]
    )
    parent = incident_create(
        actor=agent,
        caller=customer_a,
        title="Shop down",
        configuration_items=[ConfigurationItem.objects.get(pk=database.pk)],
        assignment_group=group,
    )
    incident_create(actor=child_caller, title="Cannot pay", parent=parent)

    incident_declare_major(actor=manager, incident=parent, manager=agent2)
    deliver("incident.major_declared")

    assert recipients("incident.major_declared") == {
        "agent",
        "agent2",
        "cust_a",
        "cust_a2",
        "cust_c",
    }
    to_colleague = Notification.objects.get(topic="incident.major_declared", recipient=colleague)
    # The colleague may not see the incident itself (no ticket sharing): the portal home.
    assert to_colleague.url == "/portal/"
    assert not Notification.objects.filter(recipient=customer_b).exists()


def test_major_update_carries_the_update_text(group, agent, manager, customer_a):
    incident = incident_create(
        actor=agent, caller=customer_a, title="Shop down", assignment_group=group
    )
    incident_declare_major(actor=manager, incident=incident)

    incident_major_update(actor=manager, incident=incident, body="Failover started, ETA 30 min.")
    deliver("incident.major_update")

    assert recipients("incident.major_update") == {"agent", "agent2", "cust_a"}
    assert "Failover started, ETA 30 min." in email_to(customer_a).body


def test_an_inactive_user_is_not_notified(incident, group, manager, agent2):
    agent2.is_active = False
    agent2.save(update_fields=["is_active"])

    incident_assign(actor=manager, incident=incident, group=group)
    deliver("incident.assigned")

    assert recipients("incident.assigned") == {"agent"}
