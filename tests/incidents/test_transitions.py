"""The whole incident lifecycle graph: every (state, transition) pair, allowed or refused."""

import pytest

from core.exceptions import DomainError
from incidents.choices import IncidentStatus as S
from incidents.models import Incident
from incidents.services import (
    incident_assign,
    incident_cancel,
    incident_close,
    incident_pend,
    incident_reopen,
    incident_resolve,
    incident_resume,
    incident_start,
)
from tests.incidents.factories import IncidentFactory

pytestmark = pytest.mark.django_db

ACTIONS = {
    "assign": lambda a, i, g: incident_assign(actor=a, incident=i, group=g, assignee=a),
    "start": lambda a, i, g: incident_start(actor=a, incident=i),
    "pend": lambda a, i, g: incident_pend(actor=a, incident=i, reason="awaiting_customer"),
    "resume": lambda a, i, g: incident_resume(actor=a, incident=i),
    "resolve": lambda a, i, g: incident_resolve(
        actor=a, incident=i, code="solved_permanently", notes="Replaced the toner."
    ),
    "close": lambda a, i, g: incident_close(actor=a, incident=i),
    "reopen": lambda a, i, g: incident_reopen(actor=a, incident=i, reason="Still broken."),
    "cancel": lambda a, i, g: incident_cancel(actor=a, incident=i, reason="Raised twice."),
}

# (from state, action) -> resulting state, or None when refused.
GRAPH = {
    (S.NEW, "assign"): S.ASSIGNED,
    (S.NEW, "start"): S.IN_PROGRESS,
    (S.NEW, "pend"): None,
    (S.NEW, "resume"): None,
    (S.NEW, "resolve"): S.RESOLVED,
    (S.NEW, "close"): None,
    (S.NEW, "reopen"): None,
    (S.NEW, "cancel"): S.CANCELLED,
    (S.ASSIGNED, "assign"): S.ASSIGNED,
    (S.ASSIGNED, "start"): S.IN_PROGRESS,
    (S.ASSIGNED, "pend"): None,
    (S.ASSIGNED, "resume"): None,
    (S.ASSIGNED, "resolve"): S.RESOLVED,
    (S.ASSIGNED, "close"): None,
    (S.ASSIGNED, "reopen"): None,
    (S.ASSIGNED, "cancel"): S.CANCELLED,
    (S.IN_PROGRESS, "assign"): S.IN_PROGRESS,
    (S.IN_PROGRESS, "start"): None,
    (S.IN_PROGRESS, "pend"): S.PENDING,
    (S.IN_PROGRESS, "resume"): None,
    (S.IN_PROGRESS, "resolve"): S.RESOLVED,
    (S.IN_PROGRESS, "close"): None,
    (S.IN_PROGRESS, "reopen"): None,
    (S.IN_PROGRESS, "cancel"): S.CANCELLED,
    (S.PENDING, "assign"): S.PENDING,
    (S.PENDING, "start"): None,
    (S.PENDING, "pend"): None,
    (S.PENDING, "resume"): S.IN_PROGRESS,
    (S.PENDING, "resolve"): S.RESOLVED,
    (S.PENDING, "close"): None,
    (S.PENDING, "reopen"): None,
    (S.PENDING, "cancel"): None,
    (S.RESOLVED, "assign"): None,
    (S.RESOLVED, "start"): None,
    (S.RESOLVED, "pend"): None,
    (S.RESOLVED, "resume"): None,
    (S.RESOLVED, "resolve"): None,
    (S.RESOLVED, "close"): S.CLOSED,
    (S.RESOLVED, "reopen"): S.IN_PROGRESS,
    (S.RESOLVED, "cancel"): None,
    (S.CLOSED, "assign"): None,
    (S.CLOSED, "start"): None,
    (S.CLOSED, "pend"): None,
    (S.CLOSED, "resume"): None,
    (S.CLOSED, "resolve"): None,
    (S.CLOSED, "close"): None,
    (S.CLOSED, "reopen"): None,
    (S.CLOSED, "cancel"): None,
    (S.CANCELLED, "assign"): None,
    (S.CANCELLED, "start"): None,
    (S.CANCELLED, "pend"): None,
    (S.CANCELLED, "resume"): None,
    (S.CANCELLED, "resolve"): None,
    (S.CANCELLED, "close"): None,
    (S.CANCELLED, "reopen"): None,
    (S.CANCELLED, "cancel"): None,
}


def _in_state(state, manager, group):
    """An incident driven through the services into `state` (a real path, not a raw save)."""
    incident = IncidentFactory()
    paths = {
        S.NEW: [],
        S.ASSIGNED: ["assign"],
        S.IN_PROGRESS: ["assign", "start"],
        S.PENDING: ["assign", "start", "pend"],
        S.RESOLVED: ["assign", "start", "resolve"],
        S.CLOSED: ["assign", "start", "resolve", "close"],
        S.CANCELLED: ["cancel"],
    }
    for step in paths[state]:
        incident = ACTIONS[step](manager, incident, group)
    assert incident.status == state
    return Incident.objects.get(pk=incident.pk)


def test_graph_covers_every_state_and_action():
    assert {(s, a) for s in S.values for a in ACTIONS} == set(GRAPH)


@pytest.mark.parametrize(("state", "action"), sorted(GRAPH))
def test_lifecycle_graph(manager, state, action):
    from tests.factories import SupportGroupFactory

    group = SupportGroupFactory()
    group.members.add(manager)
    incident = _in_state(state, manager, group)
    expected = GRAPH[(state, action)]

    events_before = incident.events.count()
    if expected is None:
        with pytest.raises(DomainError) as excinfo:
            ACTIONS[action](manager, incident, group)
        assert excinfo.value.code == "illegal_transition"
        assert Incident.objects.get(pk=incident.pk).status == state
        assert incident.events.count() == events_before  # refused: nothing written
    else:
        result = ACTIONS[action](manager, incident, group)
        assert result.status == expected
        assert Incident.objects.get(pk=incident.pk).status == expected
        # Every state change is audited (who, from, to). Assigning again to the same group
        # and person keeps the state and writes no more than an assignment.
        new_events = list(incident.events.order_by("pk")[events_before:])
        kinds = {event.event_type for event in new_events}
        if expected != state:
            change = next(e for e in new_events if e.event_type == "status_changed")
            assert (change.actor, change.data["from"], change.data["to"]) == (
                manager,
                state,
                expected,
            )
        else:
            assert kinds <= {"assigned"}


def test_each_transition_has_its_own_permission():
    transitions = Incident._meta.get_field("status").get_all_transitions(Incident)
    permissions: dict[str, set] = {}
    for transition in transitions:
        permissions.setdefault(transition.name, set()).add(transition.permission)

    assert set(permissions) == set(ACTIONS)
    assert all(len(named) == 1 for named in permissions.values()), permissions
    codes = [next(iter(named)) for named in permissions.values()]
    assert len(set(codes)) == len(codes), codes


@pytest.mark.parametrize(
    ("state", "action"), [(S.ASSIGNED, "start"), (S.IN_PROGRESS, "pend"), (S.PENDING, "resume")]
)
def test_holding_the_other_transitions_permissions_is_not_enough(manager, state, action):
    from django.contrib.auth.models import Permission

    from tests.factories import SupportGroupFactory, UserFactory

    group = SupportGroupFactory(name="Desk")
    group.members.add(manager)
    incident = _in_state(state, manager, group)
    lacking = f"{action}_incident"
    worker = UserFactory()
    worker.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="incidents", codename__endswith="_incident"
        ).exclude(codename=lacking)
    )

    with pytest.raises(DomainError) as refused:
        ACTIONS[action](worker, incident, group)

    assert refused.value.code == "forbidden"
    assert Incident.objects.get(pk=incident.pk).status == state
