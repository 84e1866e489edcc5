import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from core.choices import CommentVisibility, EventType
from core.selectors import (
    attachment_get_for_download,
    prefetched_set,
    ticket_is_visible,
    ticket_timeline,
)
from core.services import attachment_add, comment_add, event_record
from tests.core.factories import DemoTicketFactory
from tests.incidents.factories import IncidentFactory

pytestmark = pytest.mark.django_db


def _ticket_with_history(org, agent, customer):
    ticket = DemoTicketFactory(organisation=org)
    event_record(ticket=ticket, event_type=EventType.CREATED, actor=customer)
    comment_add(ticket=ticket, actor=customer, body="It is broken")
    comment_add(
        ticket=ticket,
        actor=agent,
        body="Looks like a driver",
        visibility=CommentVisibility.WORK_NOTE,
    )
    event_record(
        ticket=ticket,
        event_type=EventType.FIELD_CHANGED,
        actor=agent,
        data={"field": "priority", "old": 3, "new": 2},
    )
    event_record(
        ticket=ticket,
        event_type=EventType.STATUS_CHANGED,
        actor=agent,
        data={"from": "open", "to": "closed"},
    )
    return ticket


def test_agent_timeline_has_everything_in_order(org_a, agent, customer_a):
    ticket = _ticket_with_history(org_a, agent, customer_a)

    timeline = ticket_timeline(ticket=ticket, user=agent)

    assert [(e.kind, getattr(e.item, "event_type", None)) for e in timeline] == [
        ("event", "created"),
        ("comment", None),
        ("comment", None),
        ("event", "field_changed"),
        ("event", "status_changed"),
    ]


def test_customer_timeline_hides_work_notes_and_internal_events(org_a, agent, customer_a):
    ticket = _ticket_with_history(org_a, agent, customer_a)

    timeline = ticket_timeline(ticket=ticket, user=customer_a)

    assert [e.kind for e in timeline] == ["event", "comment", "event"]
    assert timeline[1].item.body == "It is broken"


def test_timeline_costs_three_queries(org_a, agent, customer_a, django_assert_num_queries):
    ticket = _ticket_with_history(org_a, agent, customer_a)
    for i in range(10):
        comment_add(ticket=ticket, actor=agent, body=f"update {i}")

    with django_assert_num_queries(3):
        timeline = ticket_timeline(ticket=ticket, user=agent)
        [str(entry.actor) for entry in timeline]


def test_customer_sees_only_their_organisations_tickets(org_a, org_b, customer_a, customer_b):
    ticket = DemoTicketFactory(organisation=org_a)

    assert ticket_is_visible(ticket=ticket, user=customer_a)
    assert not ticket_is_visible(ticket=ticket, user=customer_b)


def test_attachment_download_respects_ticket_and_note_visibility(
    org_a, agent, customer_a, customer_b
):
    ticket = DemoTicketFactory(organisation=org_a)
    public = attachment_add(
        ticket=ticket, actor=customer_a, uploaded_file=SimpleUploadedFile("a.txt", b"a")
    )
    note = comment_add(
        ticket=ticket, actor=agent, body="internal", visibility=CommentVisibility.WORK_NOTE
    )
    private = attachment_add(
        ticket=ticket, actor=agent, uploaded_file=SimpleUploadedFile("b.txt", b"b"), comment=note
    )

    assert attachment_get_for_download(pk=public.pk, user=customer_a) == public
    assert attachment_get_for_download(pk=private.pk, user=customer_a) is None
    assert attachment_get_for_download(pk=public.pk, user=customer_b) is None
    assert attachment_get_for_download(pk=private.pk, user=agent) == private


def test_prefetched_set_answers_the_relation_without_a_query(
    org_a, agent, customer_a, django_assert_num_queries
):
    incident = IncidentFactory(caller=customer_a)
    incident.watchers.add(agent)  # stored, but the caller says it knows the rows
    incident = type(incident).objects.get(pk=incident.pk)

    prefetched_set(incident, "watchers", [customer_a])

    with django_assert_num_queries(0):
        assert list(incident.watchers.all()) == [customer_a]
