import pytest
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.utils import translation

from core.selectors import ticket_timeline
from incidents.selectors import incident_get, incident_list
from incidents.services import incident_assign, incident_create, incident_start
from tests.factories import SupportGroupFactory

pytestmark = pytest.mark.django_db


def test_timeline_shows_state_labels_in_the_users_language(agent, customer_a):
    group = SupportGroupFactory()
    group.members.add(agent)
    incident = incident_create(actor=agent, caller=customer_a, title="x")
    incident = incident_assign(actor=agent, incident=incident, group=group, assignee=agent)
    incident_start(actor=agent, incident=incident)

    with translation.override("zh-hans"):
        html = render_to_string(
            "core/partials/timeline.html",
            {"timeline": ticket_timeline(ticket=incident, user=agent)},
            request=RequestFactory().get("/"),
        )

    assert "<strong>处理中</strong>" in html
    assert "in_progress" not in html


def test_customers_list_only_their_own_incidents(agent, customer_a, customer_b):
    mine = incident_create(actor=customer_a, title="mine")
    incident_create(actor=customer_b, title="theirs")

    assert list(incident_list(user=customer_a)) == [mine]
    with pytest.raises(type(mine).DoesNotExist):
        incident_get(user=customer_b, pk=mine.pk)


def test_organisation_sharing_shows_colleagues_incidents(agent, customer_a, org_a):
    from tests.factories import UserFactory

    colleague = UserFactory(organisation=org_a, roles=["customer"])
    theirs = incident_create(actor=colleague, title="colleague's")

    assert not incident_list(user=customer_a).filter(pk=theirs.pk).exists()
    org_a.shares_tickets = True
    org_a.save(update_fields=["shares_tickets"])
    assert incident_list(user=customer_a).filter(pk=theirs.pk).exists()
