import pytest
from django.db.models import Exists, OuterRef
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.utils import translation

from core.selectors import ticket_timeline
from incidents.models import Incident
from incidents.selectors import (
    DETAIL_RELATED,
    LIST_RELATED,
    incident_get,
    incident_list,
    incident_page_get,
)
from incidents.services import incident_assign, incident_create, incident_start
from tests.config_items.factories import ConfigurationItemFactory
from tests.factories import SupportGroupFactory
from tests.incidents.factories import category

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


def test_the_page_query_of_an_agent_gives_what_the_orm_gives(agent, customer_a, customer_b):
    """Agents see every incident, so their page reads it with the precompiled statement;
    customers keep the ORM query with their visibility condition."""
    group = SupportGroupFactory()
    group.members.add(agent)
    parent = incident_create(actor=agent, caller=customer_a, title="parent")
    incident = incident_create(
        actor=agent,
        caller=customer_a,
        title="child",
        category=category("Software"),
        subcategory=category("Performance", "Software"),
        assignment_group=group,
        assignee=agent,
        configuration_items=[ConfigurationItemFactory()],
    )
    incident.parent = parent
    incident.save(update_fields=["parent"])
    incident.watchers.add(agent)

    got = incident_page_get(user=agent, pk=incident.pk)
    want = (
        Incident.objects.select_related(*LIST_RELATED, *DETAIL_RELATED)
        .annotate(
            has_cis=Exists(
                Incident.configuration_items.through.objects.filter(incident_id=OuterRef("pk"))
            ),
            has_watchers=Exists(
                Incident.watchers.through.objects.filter(incident_id=OuterRef("pk"))
            ),
            has_children=Exists(Incident.objects.filter(parent_id=OuterRef("pk"))),
        )
        .get(pk=incident.pk)
    )

    assert {k: v for k, v in got.__dict__.items() if not k.startswith("_")} == {
        k: v for k, v in want.__dict__.items() if not k.startswith("_")
    }
    # The joined rows, cached as select_related caches them (a missing rating as None).
    assert got._state.fields_cache == want._state.fields_cache
    assert set(got._state.fields_cache) == {*LIST_RELATED, *DETAIL_RELATED}
    assert (got.parent.title, got.caller.organisation_id) == ("parent", customer_a.organisation_id)
    assert (got.has_cis, got.has_watchers, got.has_children) == (True, True, False)
    assert incident_page_get(user=agent, pk=parent.pk).has_children is True
    for missing in (10**9, 10**20):  # beyond a bigint too: no row, not an error
        with pytest.raises(Incident.DoesNotExist):
            incident_page_get(user=agent, pk=missing)
    assert incident_page_get(user=customer_a, pk=incident.pk) == incident
    with pytest.raises(Incident.DoesNotExist):
        incident_page_get(user=customer_b, pk=incident.pk)
