from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from core.choices import CommentVisibility
from core.exceptions import DomainError
from core.models import OutboxMessage, TicketEvent
from incidents.choices import IncidentStatus, PendingReason
from incidents.models import AssignmentRule, Incident, PriorityMatrix
from incidents.services import (
    incident_assign,
    incident_close_resolved,
    incident_comment,
    incident_confirm_resolution,
    incident_create,
    incident_declare_major,
    incident_major_update,
    incident_pend,
    incident_rate,
    incident_reject_resolution,
    incident_resolve,
    incident_start,
    incident_update,
)
from tests.config_items.factories import ConfigurationItemFactory, ci_class
from tests.factories import SupportGroupFactory, UserFactory
from tests.incidents.factories import category

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk(agent, manager):
    group = SupportGroupFactory(name="Service Desk")
    group.members.add(agent, manager)
    return group


def _resolved(agent, desk, caller):
    incident = incident_create(actor=agent, caller=caller, title="VPN drops", channel="phone")
    incident = incident_assign(actor=agent, incident=incident, group=desk, assignee=agent)
    incident = incident_start(actor=agent, incident=incident)
    return incident_resolve(
        actor=agent, incident=incident, code="solved_workaround", notes="New VPN profile."
    )


def test_create_numbers_prioritises_and_audits(agent, customer_a):
    incident = incident_create(
        actor=agent, caller=customer_a, title=" Printer jams ", channel="phone", impact=1, urgency=2
    )

    assert incident.number.startswith("INC") and len(incident.number) == 10
    assert incident.title == "Printer jams"
    assert incident.priority == 2
    assert incident.organisation == customer_a.organisation
    assert incident.status == IncidentStatus.NEW
    assert list(incident.events.values_list("event_type", flat=True)) == ["created"]


def test_priority_follows_the_admin_edited_matrix(agent, customer_a):
    before = incident_create(actor=agent, caller=customer_a, title="x", impact=3, urgency=3)
    # The process keeps the matrix: the edit (no save(), no signal) moves its version.
    PriorityMatrix.objects.filter(impact=3, urgency=3).update(priority=4)

    incident = incident_create(actor=agent, caller=customer_a, title="x", impact=3, urgency=3)

    assert (before.priority, incident.priority) == (5, 4)


def test_impact_change_recomputes_priority_and_records_both_fields(agent, customer_a):
    incident = incident_create(actor=agent, caller=customer_a, title="x", impact=3, urgency=3)

    incident = incident_update(actor=agent, incident=incident, impact=1, urgency=1)

    assert incident.priority == 1
    changes = {
        e.data["field"]: (e.data["old"], e.data["new"])
        for e in incident.events.filter(event_type="field_changed")
    }
    assert changes == {"impact": (3, 1), "urgency": (3, 1), "priority": (5, 1)}


def test_stale_edit_is_refused_and_nothing_is_lost(agent, manager, customer_a):
    incident = incident_create(actor=agent, caller=customer_a, title="Old title")
    seen_version = incident.version
    incident_update(actor=manager, incident=incident, title="Manager's title")

    with pytest.raises(DomainError) as excinfo:
        incident_update(
            actor=agent, incident=incident, expected_version=seen_version, title="Agent's title"
        )

    assert excinfo.value.code == "stale_version"
    assert excinfo.value.status == 409
    assert Incident.objects.get(pk=incident.pk).title == "Manager's title"


def test_customer_raises_only_for_themselves_and_cannot_assign(customer_a, customer_b, desk):
    with pytest.raises(DomainError):
        incident_create(actor=customer_a, caller=customer_b, title="x")
    with pytest.raises(DomainError):
        incident_create(actor=customer_a, title="x", assignment_group=desk)

    incident = incident_create(actor=customer_a, title="Laptop will not boot")

    assert incident.caller == customer_a


def test_assignment_rule_routes_by_category_and_round_robin_balances(agent, customer_a):
    other = UserFactory(username="other_agent", roles=["agent"])
    desk = SupportGroupFactory(name="Hardware desk")
    desk.members.add(agent, other)
    network = SupportGroupFactory(name="Network")
    network.members.add(other)
    AssignmentRule.objects.create(order=1, category=category("Network"), group=network)
    AssignmentRule.objects.create(
        order=2, category=category("Hardware"), group=desk, is_round_robin=True
    )

    vpn = incident_create(
        actor=agent,
        caller=customer_a,
        title="VPN",
        category=category("Network"),
        subcategory=category("VPN", "Network"),
    )
    first = incident_create(
        actor=agent, caller=customer_a, title="a", category=category("Hardware")
    )
    second = incident_create(
        actor=agent, caller=customer_a, title="b", category=category("Hardware")
    )

    assert (vpn.assignment_group, vpn.assignee, vpn.status) == (network, None, "assigned")
    assert first.assignment_group == desk
    assert {first.assignee, second.assignee} == {agent, other}


def test_subcategory_must_belong_to_the_category(agent, customer_a):
    with pytest.raises(ValidationError) as excinfo:
        incident_create(
            actor=agent,
            caller=customer_a,
            title="x",
            category=category("Hardware"),
            subcategory=category("VPN", "Network"),
        )

    assert "subcategory" in excinfo.value.message_dict
    assert not Incident.objects.exists()


def test_service_must_be_a_service_ci(agent, customer_a):
    server = ConfigurationItemFactory(ci_class=ci_class("server"))

    with pytest.raises(ValidationError):
        incident_create(actor=agent, caller=customer_a, title="x", service=server)


def test_assignee_must_be_in_the_group(agent, customer_a, desk):
    incident = incident_create(actor=agent, caller=customer_a, title="x")
    stranger = UserFactory(roles=["agent"])

    with pytest.raises(ValidationError):
        incident_assign(actor=agent, incident=incident, group=desk, assignee=stranger)


def test_assignment_queues_one_notification(agent, customer_a, desk):
    incident = incident_create(actor=agent, caller=customer_a, title="x")

    incident_assign(actor=agent, incident=incident, group=desk, assignee=agent)
    incident_assign(actor=agent, incident=incident, group=desk, assignee=agent)

    assert OutboxMessage.objects.filter(topic="incident.assigned").count() == 1


@pytest.mark.parametrize(
    ("code", "notes", "field"), [("", "done", "code"), ("solved_workaround", "  ", "notes")]
)
def test_resolve_requires_code_and_notes(agent, customer_a, code, notes, field):
    incident = incident_create(actor=agent, caller=customer_a, title="x")

    with pytest.raises(ValidationError) as excinfo:
        incident_resolve(actor=agent, incident=incident, code=code, notes=notes)

    assert field in excinfo.value.message_dict
    assert Incident.objects.get(pk=incident.pk).status == IncidentStatus.NEW


def test_children_are_resolved_with_their_parent(agent, customer_a, customer_b):
    parent = incident_create(actor=agent, caller=customer_a, title="Shop down")
    child = incident_create(actor=agent, caller=customer_b, title="Cannot order", parent=parent)
    closed_child = incident_create(actor=agent, caller=customer_b, title="old", parent=parent)
    closed_child = incident_resolve(actor=agent, incident=closed_child, code="duplicate", notes="x")

    incident_resolve(actor=agent, incident=parent, code="solved_permanently", notes="Fixed DB.")

    child.refresh_from_db()
    assert child.status == IncidentStatus.RESOLVED
    assert child.resolution_code == "solved_by_parent"
    assert parent.number in child.resolution_notes
    assert Incident.objects.get(pk=closed_child.pk).resolution_code == "duplicate"


def test_grandchildren_follow_the_resolution_too(agent, customer_a):
    root = incident_create(actor=agent, caller=customer_a, title="Data centre power")
    child = incident_create(actor=agent, caller=customer_a, title="Shop down", parent=root)
    grandchild = incident_create(actor=agent, caller=customer_a, title="No orders", parent=child)

    incident_resolve(actor=agent, incident=root, code="solved_permanently", notes="UPS fixed.")

    grandchild.refresh_from_db()
    assert grandchild.status == IncidentStatus.RESOLVED
    assert child.number in grandchild.resolution_notes


def test_a_parent_is_set_later_and_refused_when_closed_or_a_cycle(agent, customer_a):
    root = incident_create(actor=agent, caller=customer_a, title="Mail down")
    child = incident_create(actor=agent, caller=customer_a, title="No mail in Berlin")
    done = incident_create(actor=agent, caller=customer_a, title="Old")
    incident_resolve(actor=agent, incident=done, code="duplicate", notes="x")

    child = incident_update(actor=agent, incident=child, parent=root)
    refusals = []
    for incident, parent in (
        (root, child),
        (root, root),
        (child, Incident.objects.get(pk=done.pk)),
    ):
        with pytest.raises(ValidationError) as refused:
            incident_update(actor=agent, incident=incident, parent=parent)
        refusals.append(refused.value.message_dict["parent"])
    with pytest.raises(ValidationError):
        incident_create(
            actor=agent, caller=customer_a, title="x", parent=Incident.objects.get(pk=done.pk)
        )

    assert Incident.objects.get(pk=child.pk).parent == root
    assert Incident.objects.get(pk=root.pk).parent is None
    assert refusals[0] == refusals[1] != refusals[2]
    change = TicketEvent.objects.get(object_id=child.pk, data__field="parent")
    assert (change.data["old"], change.data["new"]) == (None, root.pk)


def test_customer_reply_resumes_an_incident_waiting_on_the_customer(agent, customer_a, desk):
    incident = incident_create(actor=agent, caller=customer_a, title="x")
    incident = incident_assign(actor=agent, incident=incident, group=desk, assignee=agent)
    incident = incident_start(actor=agent, incident=incident)
    incident = incident_pend(actor=agent, incident=incident, reason=PendingReason.AWAITING_CUSTOMER)

    incident_comment(actor=customer_a, incident=incident, body="Here is the screenshot.")

    incident.refresh_from_db()
    assert incident.status == IncidentStatus.IN_PROGRESS
    assert incident.pending_reason == ""
    assert OutboxMessage.objects.filter(topic="incident.customer_replied").count() == 1


def test_customer_reply_does_not_resume_when_waiting_on_a_vendor(agent, customer_a, desk):
    incident = incident_create(actor=agent, caller=customer_a, title="x")
    incident = incident_assign(actor=agent, incident=incident, group=desk, assignee=agent)
    incident = incident_start(actor=agent, incident=incident)
    incident = incident_pend(actor=agent, incident=incident, reason=PendingReason.AWAITING_VENDOR)

    incident_comment(actor=customer_a, incident=incident, body="Any news?")

    assert Incident.objects.get(pk=incident.pk).status == IncidentStatus.PENDING


def test_starting_an_unassigned_incident_assigns_it_to_the_agent(agent, customer_a):
    incident = incident_create(actor=customer_a, title="Monitor flickers")

    incident = incident_start(actor=agent, incident=incident)

    assert (incident.status, incident.assignee) == (IncidentStatus.IN_PROGRESS, agent)
    assert incident.assigned_at is not None
    assert incident.assigned_at == incident.first_response_at
    assigned = TicketEvent.objects.get(object_id=incident.pk, event_type="assigned")
    assert (assigned.actor, assigned.data["assignee"]) == (agent, agent.username)


def test_first_public_agent_reply_is_the_first_response(agent, customer_a):
    incident = incident_create(actor=agent, caller=customer_a, title="x")
    incident_comment(
        actor=agent, incident=incident, body="note", visibility=CommentVisibility.WORK_NOTE
    )
    assert Incident.objects.get(pk=incident.pk).first_response_at is None

    comment = incident_comment(actor=agent, incident=incident, body="We are on it.")

    assert Incident.objects.get(pk=incident.pk).first_response_at == comment.created_at


def test_customer_of_another_organisation_cannot_reply(agent, customer_a, customer_b):
    incident = incident_create(actor=agent, caller=customer_a, title="x")

    with pytest.raises(DomainError) as excinfo:
        incident_comment(actor=customer_b, incident=incident, body="hello")

    assert excinfo.value.code == "forbidden"


def test_customer_confirms_and_rates(agent, customer_a, desk):
    incident = _resolved(agent, desk, customer_a)

    incident = incident_confirm_resolution(actor=customer_a, incident=incident)
    rating = incident_rate(actor=customer_a, incident=incident, score=5, comment="Quick!")

    assert incident.status == IncidentStatus.CLOSED
    assert incident.closed_at is not None
    assert (rating.score, rating.rated_by) == (5, customer_a)


def test_customer_rejects_resolution_reopens_with_count(agent, customer_a, desk):
    incident = _resolved(agent, desk, customer_a)

    incident = incident_reject_resolution(
        actor=customer_a, incident=incident, reason="Still disconnects every hour."
    )

    assert incident.status == IncidentStatus.IN_PROGRESS
    assert incident.reopen_count == 1
    assert incident.resolved_at is None
    assert incident.comments.get().body == "Still disconnects every hour."
    assert OutboxMessage.objects.filter(topic="incident.reopened").count() == 1


@pytest.mark.parametrize("score", [0, 6, "5"])
def test_rating_must_be_one_to_five(agent, customer_a, desk, score):
    incident = _resolved(agent, desk, customer_a)

    with pytest.raises(ValidationError):
        incident_rate(actor=customer_a, incident=incident, score=score)


def test_major_incident_needs_a_manager_and_logs_updates(agent, manager, customer_a):
    incident = incident_create(actor=agent, caller=customer_a, title="Shop down", impact=1)

    with pytest.raises(DomainError):
        incident_declare_major(actor=agent, incident=incident)
    incident = incident_declare_major(actor=manager, incident=incident)
    update = incident_major_update(
        actor=manager, incident=incident, body="Failover to DC2 in progress."
    )

    assert incident.is_major and incident.major_incident_manager == manager
    assert update.is_sent_to_customers
    assert set(OutboxMessage.objects.values_list("topic", flat=True)) >= {
        "incident.major_declared",
        "incident.major_update",
    }


def test_cancel_is_for_managers_only(agent, manager, customer_a):
    from incidents.services import incident_cancel

    incident = incident_create(actor=agent, caller=customer_a, title="x")

    with pytest.raises(DomainError) as excinfo:
        incident_cancel(actor=agent, incident=incident, reason="dup")
    cancelled = incident_cancel(actor=manager, incident=incident, reason="Raised twice.")

    assert excinfo.value.code == "forbidden"
    assert cancelled.status == IncidentStatus.CANCELLED


def test_resolved_incidents_close_automatically_after_the_configured_days(
    agent, customer_a, desk, settings
):
    settings.ITSM_INCIDENT_AUTO_CLOSE_DAYS = 5
    old = _resolved(agent, desk, customer_a)
    recent = _resolved(agent, desk, customer_a)
    Incident.objects.filter(pk=old.pk).update(resolved_at=timezone.now() - timedelta(days=6))

    closed = incident_close_resolved()

    assert closed == 1
    assert Incident.objects.get(pk=old.pk).status == IncidentStatus.CLOSED
    assert Incident.objects.get(pk=recent.pk).status == IncidentStatus.RESOLVED
    event = TicketEvent.objects.filter(object_id=old.pk, event_type="status_changed").last()
    assert event.actor is None
    assert event.data["automatic"] is True
