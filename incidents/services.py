"""Write side of incident management (ISO/IEC 20000-1:2018 8.6.1).

Every function runs in one transaction, locks the incident row, checks the domain rules,
applies the django-fsm transition, bumps the version (optimistic concurrency), records the
audit events and queues notifications through the transactional outbox.
"""

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import can_proceed, has_transition_perm

from accounts.models import SupportGroup, User
from config_items.models import ConfigurationItem
from core.choices import CommentVisibility, EventType
from core.config_cache import ConfigCache, configs_get
from core.exceptions import DomainError
from core.models import Comment, TicketEvent
from core.outbox import outbox_enqueue
from core.permissions import WORKSPACE_PERMISSION
from core.selectors import ticket_is_visible
from core.services import comment_add, event_record, events_record, ticket_insert
from sla import services as sla

from .choices import OPEN_STATUSES, Channel, IncidentStatus, PendingReason, ResolutionCode
from .models import (
    AssignmentRule,
    Category,
    Incident,
    MajorIncidentUpdate,
    PriorityMatrix,
    SatisfactionRating,
)

# Fields an edit may change; status, number, timestamps and counters belong to services.
EDITABLE_FIELDS = (
    "title",
    "description",
    "channel",
    "service",
    "category",
    "subcategory",
    "impact",
    "urgency",
    "parent",
)

# Fields SLA targets match on: a change re-applies the matching rule.
SLA_FACT_FIELDS = {"priority", "service", "category", "subcategory"}

TRANSITION_LABELS = {
    "assign": _("Assign"),
    "start": _("Start work"),
    "pend": _("Put on hold"),
    "resume": _("Resume"),
    "resolve": _("Resolve"),
    "close": _("Close"),
    "reopen": _("Reopen"),
    "cancel": _("Cancel"),
}


def _priority_matrix_load() -> dict[tuple[int, int], int]:
    return {
        (impact, urgency): priority
        for impact, urgency, priority in PriorityMatrix.objects.values_list(
            "impact", "urgency", "priority"
        )
    }


# The matrix, kept per process and checked against the `incidents` configuration version
# (a trigger on its table moves it: migration 0006) before each use.
PRIORITY_MATRIX = ConfigCache("incidents", _priority_matrix_load)


def priority_for(
    *, impact: int, urgency: int, matrix: dict[tuple[int, int], int] | None = None
) -> int:
    """Priority from the admin-editable impact x urgency matrix (3 if the cell is missing);
    `matrix`: from PRIORITY_MATRIX when the caller read it already."""
    matrix = PRIORITY_MATRIX.get() if matrix is None else matrix
    return matrix.get((impact, urgency), 3)


def _json(value: Any) -> Any:
    """A value as it is stored in an event: ids for related rows."""
    return getattr(value, "pk", value)


def _lock(incident: Incident) -> Incident:
    return Incident.objects.select_for_update().get(pk=incident.pk)


@transaction.atomic
def incident_at_version(*, incident: Incident, expected_version: int | None, run: Any) -> Any:
    """`run()` only while the incident is still at the version the user acted on: the row
    is locked before the comparison and `run` goes on in the same transaction, so nobody
    changes it in between (a transition from a stale page is refused, not applied)."""
    if expected_version is not None:
        _check_version(_lock(incident), expected_version)
    return run()


def _check_version(incident: Incident, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != incident.version:
        raise DomainError(
            _(
                "Someone else changed this incident in the meantime (version %(current)s, "
                "yours %(yours)s). Reload it and apply your change again."
            )
            % {"current": incident.version, "yours": expected_version},
            code="stale_version",
            status=409,
        )


def _run_transition(incident: Incident, name: str, actor: User | None) -> str:
    """Check and run one FSM transition; returns the state it left."""
    method = getattr(incident, name)
    if not can_proceed(method):
        raise DomainError(
            _("An incident in state “%(state)s” cannot do “%(transition)s”.")
            % {"state": incident.get_status_display(), "transition": TRANSITION_LABELS[name]},
            code="illegal_transition",
            status=409,
        )
    if actor is not None and not has_transition_perm(method, actor):
        raise DomainError(
            _("You are not allowed to %(transition)s this incident.")
            % {"transition": str(TRANSITION_LABELS[name]).lower()},
            code="forbidden",
            status=403,
        )
    old = incident.status
    method()
    return old


def _save(incident: Incident, fields: list[str]) -> None:
    incident.version += 1
    incident.full_clean(exclude=["status"], validate_unique=False, validate_constraints=False)
    incident.save(update_fields=[*set(fields), "version", "updated_at"])


def _status_event(incident: Incident, actor: User | None, old: str, **data: Any) -> None:
    event_record(
        ticket=incident,
        event_type=EventType.STATUS_CHANGED,
        actor=actor,
        data={"from": old, "to": incident.status, **data},
    )


def _notify(incident: Incident, topic: str, actor: User | None, key: str, **data: Any) -> None:
    outbox_enqueue(
        topic=f"incident.{topic}",
        payload={"incident_id": incident.pk, "actor_id": actor.pk if actor else None, **data},
        dedup_key=f"incident.{topic}:{incident.pk}:{key}",
    )


def assignment_rule_match(
    *, category: Category | None, service: ConfigurationItem | None
) -> AssignmentRule | None:
    """The first active rule (by order) whose category and service both match."""
    rules = AssignmentRule.objects.filter(is_active=True).select_related("group")
    category_ids = [c.pk for c in (category, getattr(category, "parent", None)) if c]
    rules = rules.filter(Q(category__isnull=True) | Q(category_id__in=category_ids or [0]))
    rules = rules.filter(Q(service__isnull=True) | Q(service=service))
    return rules.first()


def round_robin_member(*, group: SupportGroup) -> User | None:
    """The active member with the fewest open incidents; ties go to the lowest id."""
    return (
        group.members.filter(is_active=True)
        .annotate(
            load=Count(
                "incidents_incident_assigned",
                filter=Q(incidents_incident_assigned__status__in=OPEN_STATUSES),
            )
        )
        .order_by("load", "pk")
        .first()
    )


def _check_member(group: SupportGroup | None, assignee: User | None) -> None:
    if group is None or assignee is None:
        return
    if not group.members.filter(pk=assignee.pk).exists():
        raise ValidationError({"assignee": [_("The assignee is not in the group.")]})


def _validate_references(
    *,
    category: Category | None,
    subcategory: Category | None,
    service: ConfigurationItem | None,
) -> None:
    errors: dict[str, list] = {}
    if subcategory is not None and (category is None or subcategory.parent_id != category.pk):
        errors["subcategory"] = [_("The subcategory does not belong to the category.")]
    if category is not None and category.parent_id is not None:
        errors["category"] = [_("Choose a top-level category.")]
    if service is not None and not service.ci_class.service_kind:
        errors["service"] = [_("Choose a service, not another kind of CI.")]
    if errors:
        raise ValidationError(errors)


def _validate_parent(incident: Incident | None, parent: Incident | None) -> None:
    """A parent is open (its resolution will resolve the child) and not the incident
    itself or one of its descendants (no cycle)."""
    if parent is None:
        return
    if not parent.is_open:
        raise ValidationError({"parent": [_("Choose an open incident as the parent.")]})
    ancestor, depth = parent, 0
    while incident is not None and ancestor is not None and depth < 100:
        if ancestor.pk == incident.pk:
            raise ValidationError(
                {"parent": [_("An incident cannot be its own parent, nor its children's child.")]}
            )
        ancestor, depth = ancestor.parent, depth + 1


# Foreign keys incident_create fills from model instances it was given (or the caller's).
_CREATE_REFERENCES = (
    "caller",
    "organisation",
    "service",
    "category",
    "subcategory",
    "assignment_group",
    "assignee",
    "parent",
    "created_by",
)


@transaction.atomic
def incident_create(
    *,
    actor: User,
    title: str,
    caller: User | None = None,
    description: str = "",
    channel: str = Channel.PORTAL,
    service: ConfigurationItem | None = None,
    configuration_items: list[ConfigurationItem] | None = None,
    category: Category | None = None,
    subcategory: Category | None = None,
    impact: int = 2,
    urgency: int = 2,
    assignment_group: SupportGroup | None = None,
    assignee: User | None = None,
    parent: Incident | None = None,
) -> Incident:
    """Log an incident: number, priority from the matrix, routing, audit, notifications.

    A customer logs only for themselves; agents log on behalf of a caller (phone, walk-in).
    Without an explicit group, the first matching assignment rule routes it.
    """
    caller = caller or actor
    if actor.is_customer and caller.pk != actor.pk:
        raise DomainError(
            _("Customers can only raise incidents for themselves."), code="caller_forbidden"
        )
    if actor.is_customer and (assignment_group or assignee):
        raise DomainError(_("Customers cannot assign incidents."), code="assign_forbidden")
    _validate_references(category=category, subcategory=subcategory, service=service)
    _validate_parent(None, parent)
    _check_member(assignment_group, assignee)
    rule = None
    if assignment_group is None and assignee is None:
        rule = assignment_rule_match(category=category, service=service)
        if rule is not None:
            assignment_group = rule.group
            if rule.is_round_robin:
                assignee = round_robin_member(group=rule.group)
    now = timezone.now()
    # The priority matrix and the SLA targets, their versions checked in one statement.
    matrix, matching = configs_get(PRIORITY_MATRIX, sla.MATCHING)
    incident = Incident(
        title=(title or "").strip(),
        description=description,
        caller=caller,
        organisation_id=caller.organisation_id,
        channel=channel,
        service=service,
        category=category,
        subcategory=subcategory,
        impact=impact,
        urgency=urgency,
        priority=priority_for(impact=impact, urgency=urgency, matrix=matrix),
        assignment_group=assignment_group,
        assignee=assignee,
        parent=parent,
        created_by=actor,
        created_at=now,
    )
    if User._meta.get_field("organisation").is_cached(caller):
        incident.organisation = caller.organisation  # loaded with the caller: no query later
    # The references are rows the caller already loaded (validating them would query each
    # again) and the number comes from the counter, unique by construction (the unique
    # index still guards it): only the record's own values are validated here.
    incident.full_clean(exclude=["status", "number", *_CREATE_REFERENCES], validate_unique=False)
    # The row is written once, complete: assigned if it has a group or an assignee, and
    # with its nearest SLA breach (an UPDATE afterwards would rewrite all its index entries).
    assigned = assignment_group is not None or assignee is not None
    if assigned:
        incident.assign()
        incident.assigned_at = now
    plan = sla.sla_record_plan(record=incident, at=now, matching=matching)
    incident.sla_due_at = plan.due_at
    # The number is taken from the counter by the INSERT itself, last: the counter's row
    # stays locked until the commit, and concurrent creates queue on it. The statement is
    # built once per process (Django's insert compiler costs more than PostgreSQL's work
    # here); nothing listens to Incident's save signals.
    ticket_insert(incident)
    if configuration_items:
        incident.configuration_items.set(configuration_items)
    events = [
        TicketEvent(
            event_type=EventType.CREATED,
            data={
                "channel": channel,
                "priority": incident.priority,
                "rule": rule.pk if rule else None,
            },
        )
    ]
    if assigned:
        events.append(_assigned_event(incident))
    events_record(ticket=incident, actor=actor, events=events)
    if assigned:
        _assigned_notify(incident, actor, key="created")
    sla.sla_record_start(record=incident, actor=actor, plan=plan)
    return incident


def _assigned_event(incident: Incident) -> TicketEvent:
    return TicketEvent(
        event_type=EventType.ASSIGNED,
        data={
            "group": incident.assignment_group.name if incident.assignment_group_id else None,
            "assignee": incident.assignee.username if incident.assignee_id else None,
        },
    )


def _assigned_notify(incident: Incident, actor: User | None, key: str) -> None:
    _notify(
        incident,
        "assigned",
        actor,
        key=f"{key}:{incident.assignment_group_id}:{incident.assignee_id}:{incident.version}",
        group_id=incident.assignment_group_id,
        assignee_id=incident.assignee_id,
    )


def _assigned_event_and_notify(incident: Incident, actor: User | None, key: str) -> None:
    events_record(ticket=incident, actor=actor, events=[_assigned_event(incident)])
    _assigned_notify(incident, actor, key)


@transaction.atomic
def incident_update(
    *,
    actor: User,
    incident: Incident,
    expected_version: int | None = None,
    configuration_items: list[ConfigurationItem] | None = None,
    **fields: Any,
) -> Incident:
    """Edit descriptive fields; impact/urgency recompute the priority. Refused on a stale
    version, and once the incident is closed or cancelled."""
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"not editable: {sorted(unknown)}")
    incident = _lock(incident)
    _check_version(incident, expected_version)
    if incident.is_ended:
        raise DomainError(
            _("A closed or cancelled incident cannot be edited."),
            code="incident_closed",
            status=409,
        )
    old = {name: _json(getattr(incident, name)) for name in fields}
    if "parent" in fields and _json(fields["parent"]) != old["parent"]:
        _validate_parent(incident, fields["parent"])
    for name, value in fields.items():
        setattr(incident, name, value.strip() if name == "title" else value)
    _validate_references(
        category=incident.category, subcategory=incident.subcategory, service=incident.service
    )
    changed = [name for name in fields if old[name] != _json(getattr(incident, name))]
    if "impact" in changed or "urgency" in changed:
        new_priority = priority_for(impact=incident.impact, urgency=incident.urgency)
        if new_priority != incident.priority:
            old["priority"] = incident.priority
            incident.priority = new_priority
            changed.append("priority")
    if changed:
        _save(incident, changed)
        for name in changed:
            event_record(
                ticket=incident,
                event_type=EventType.FIELD_CHANGED,
                actor=actor,
                data={"field": name, "old": old[name], "new": _json(getattr(incident, name))},
            )
        if set(changed) & SLA_FACT_FIELDS:
            sla.sla_record_update(record=incident, actor=actor)
    if configuration_items is not None:
        before = set(incident.configuration_items.values_list("pk", flat=True))
        after = {ci.pk for ci in configuration_items}
        if before != after:
            incident.configuration_items.set(configuration_items)
            event_record(
                ticket=incident,
                event_type=EventType.FIELD_CHANGED,
                actor=actor,
                data={"field": "configuration_items", "old": sorted(before), "new": sorted(after)},
            )
    return incident


@transaction.atomic
def incident_ci_change(
    *,
    actor: User,
    incident: Incident,
    add: ConfigurationItem | None = None,
    remove: int | None = None,
) -> Incident:
    """Link one affected CI (`add`) or unlink one (`remove`, its id), the list read under
    the incident's lock: two agents linking CIs at the same moment both keep theirs."""
    incident = _lock(incident)
    cis = {ci.pk: ci for ci in incident.configuration_items.all()}
    if add is not None:
        cis[add.pk] = add
    if remove is not None:
        cis.pop(remove, None)
    return incident_update(actor=actor, incident=incident, configuration_items=list(cis.values()))


@transaction.atomic
def incident_assign(
    *,
    actor: User,
    incident: Incident,
    group: SupportGroup | None,
    assignee: User | None = None,
    expected_version: int | None = None,
) -> Incident:
    """Assign to a group and/or a person. A new incident becomes assigned; one already in
    progress keeps its state (reassignment)."""
    incident = _lock(incident)
    _check_version(incident, expected_version)
    if group is None and assignee is None:
        raise ValidationError({"group": [_("Choose a group or an assignee.")]})
    _check_member(group, assignee)
    if not incident.is_open:
        raise DomainError(
            _("Only open incidents can be assigned."), code="illegal_transition", status=409
        )
    if not actor.has_perm("incidents.assign_incident"):
        raise DomainError(
            _("You are not allowed to assign incidents."), code="forbidden", status=403
        )
    if (group, assignee) == (incident.assignment_group, incident.assignee):
        return incident
    old_group = incident.assignment_group
    incident.assignment_group = group
    incident.assignee = assignee
    fields = ["assignment_group", "assignee"]
    if incident.status in (IncidentStatus.NEW, IncidentStatus.ASSIGNED):
        old = _run_transition(incident, "assign", actor)
        if old != incident.status:
            incident.assigned_at = timezone.now()
            fields += ["status", "assigned_at"]
            _status_event(incident, actor, old)
    _save(incident, fields)
    _assigned_event_and_notify(incident, actor, key="assign")
    if group != old_group:
        sla.sla_record_update(record=incident, actor=actor)
    return incident


def incident_assign_to_me(*, actor: User, incident: Incident) -> Incident:
    """ "Assign to me": the actor's group if the current one is not theirs."""
    groups = actor.support_groups.all()
    group = incident.assignment_group
    if group is None or not groups.filter(pk=group.pk).exists():
        group = groups.first()
    return incident_assign(actor=actor, incident=incident, group=group, assignee=actor)


@transaction.atomic
def incident_start(*, actor: User, incident: Incident) -> Incident:
    """Start work: the assignee (or the actor, if none, as an assignment: its moment and
    event) takes it; counts as first response."""
    incident = _lock(incident)
    fields = ["status"]
    now = timezone.now()
    takes = incident.assignee_id is None and actor.has_perm("incidents.start_incident")
    if takes:
        incident.assignee = actor
        fields.append("assignee")
        if incident.assigned_at is None:
            incident.assigned_at = now
            fields.append("assigned_at")
    old = _run_transition(incident, "start", actor)
    if incident.first_response_at is None:
        incident.first_response_at = now
        fields.append("first_response_at")
    _save(incident, fields)
    _status_event(incident, actor, old)
    if takes:
        events_record(ticket=incident, actor=actor, events=[_assigned_event(incident)])
    if "first_response_at" in fields:
        sla.sla_record_respond(record=incident, actor=actor, at=incident.first_response_at)
    return incident


@transaction.atomic
def incident_pend(*, actor: User, incident: Incident, reason: str) -> Incident:
    """Put on hold, waiting on the customer, a vendor or a change (SLA clocks may pause)."""
    if reason not in PendingReason.values:
        raise ValidationError({"reason": [_("Choose why the incident is on hold.")]})
    incident = _lock(incident)
    old = _run_transition(incident, "pend", actor)
    incident.pending_reason = reason
    _save(incident, ["status", "pending_reason"])
    _status_event(incident, actor, old, reason=reason)
    sla.sla_record_pause(record=incident, reason=reason, actor=actor)
    return incident


@transaction.atomic
def incident_resume(*, actor: User | None, incident: Incident) -> Incident:
    """Back to in progress from pending (by an agent, or by a customer's reply)."""
    incident = _lock(incident)
    old = _run_transition(incident, "resume", actor)
    _save(incident, ["status", "pending_reason"])
    _status_event(incident, actor, old)
    sla.sla_record_resume(record=incident, actor=actor)
    return incident


def _resolve(incident: Incident, actor: User | None, code: str, notes: str) -> None:
    old = _run_transition(incident, "resolve", actor)
    incident.resolution_code = code
    incident.resolution_notes = notes
    incident.resolved_at = timezone.now()
    fields = ["status", "pending_reason", "resolution_code", "resolution_notes", "resolved_at"]
    if incident.first_response_at is None:
        incident.first_response_at = incident.resolved_at
        fields.append("first_response_at")
    _save(incident, fields)
    _status_event(incident, actor, old, resolution_code=code)
    sla.sla_record_resolve(record=incident, actor=actor, at=incident.resolved_at)
    _notify(incident, "resolved", actor, key=f"{incident.version}")


@transaction.atomic
def incident_resolve(*, actor: User, incident: Incident, code: str, notes: str) -> Incident:
    """Resolve with a resolution code and notes (both required); open child incidents are
    resolved with it."""
    notes = (notes or "").strip()
    errors = {}
    if code not in ResolutionCode.values:
        errors["code"] = [_("Choose a resolution code.")]
    if not notes:
        errors["notes"] = [_("Describe the resolution.")]
    if errors:
        raise ValidationError(errors)
    incident = _lock(incident)
    _resolve(incident, actor, code, notes)
    _resolve_children(incident, notes)
    return incident


def _resolve_children(parent: Incident, notes: str) -> None:
    """Open children follow their parent's resolution, and their own children follow them
    (`_validate_parent` keeps the tree free of cycles)."""
    children = Incident.objects.select_for_update().filter(parent=parent, status__in=OPEN_STATUSES)
    for child in children:
        child_notes = _("Resolved with parent incident %(number)s: %(notes)s") % {
            "number": parent.number,
            "notes": notes,
        }
        _resolve(child, None, ResolutionCode.SOLVED_BY_PARENT, str(child_notes))
        _resolve_children(child, notes)


@transaction.atomic
def incident_close(*, actor: User | None, incident: Incident) -> Incident:
    """Close a resolved incident (agent, or the scheduled auto-close with actor None)."""
    incident = _lock(incident)
    old = _run_transition(incident, "close", actor)
    incident.closed_at = timezone.now()
    _save(incident, ["status", "closed_at"])
    _status_event(incident, actor, old)
    return incident


@transaction.atomic
def incident_reopen(*, actor: User, incident: Incident, reason: str) -> Incident:
    """Reopen a resolved incident (the resolution did not work); the count goes up."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [_("Say why the resolution did not work.")]})
    incident = _lock(incident)
    old = _run_transition(incident, "reopen", None if actor.is_customer else actor)
    _save(incident, ["status", "reopen_count", "resolved_at", "resolution_code"])
    _status_event(incident, actor, old, reason=reason)
    sla.sla_record_reopen(record=incident, actor=actor)
    comment_add(ticket=incident, actor=actor, body=reason, visibility=CommentVisibility.PUBLIC)
    _notify(incident, "reopened", actor, key=f"{incident.version}")
    return incident


@transaction.atomic
def incident_cancel(*, actor: User, incident: Incident, reason: str) -> Incident:
    """Cancel (logged by mistake, duplicate raised twice): managers only, reason required."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [_("Give the reason for cancelling.")]})
    incident = _lock(incident)
    old = _run_transition(incident, "cancel", actor)
    incident.cancel_reason = reason
    incident.closed_at = timezone.now()
    _save(incident, ["status", "cancel_reason", "closed_at"])
    _status_event(incident, actor, old, reason=reason)
    sla.sla_record_cancel(record=incident, actor=actor, at=incident.closed_at)
    return incident


def _ensure_customer_owns(incident: Incident, actor: User) -> None:
    if not ticket_is_visible(ticket=incident, user=actor):
        raise DomainError(_("This incident is not yours."), code="forbidden", status=403)


def _ensure_caller(incident: Incident, actor: User) -> None:
    """Only the caller confirms, rejects or rates a resolution: a colleague who sees an
    incident their organisation shares may not close or reopen it, nor replace the
    caller's rating."""
    if incident.caller_id != actor.pk:
        raise DomainError(_("This incident is not yours."), code="forbidden", status=403)


@transaction.atomic
def incident_confirm_resolution(*, actor: User, incident: Incident) -> Incident:
    """The customer confirms the resolution: the incident closes."""
    _ensure_caller(incident, actor)
    incident = _lock(incident)
    if incident.status != IncidentStatus.RESOLVED:
        raise DomainError(
            _("Only a resolved incident can be confirmed."), code="illegal_transition", status=409
        )
    old = _run_transition(incident, "close", None)
    incident.closed_at = timezone.now()
    _save(incident, ["status", "closed_at"])
    _status_event(incident, actor, old, confirmed_by_customer=True)
    return incident


@transaction.atomic
def incident_reject_resolution(*, actor: User, incident: Incident, reason: str) -> Incident:
    """The customer rejects the resolution: back to in progress, reopen count + 1."""
    _ensure_caller(incident, actor)
    return incident_reopen(actor=actor, incident=incident, reason=reason)


@transaction.atomic
def incident_comment(
    *, actor: User, incident: Incident, body: str, visibility: str = CommentVisibility.PUBLIC
) -> Comment:
    """Add a reply or work note. A customer's reply to an incident waiting on the customer
    moves it back to in progress; an agent's first public reply is the first response."""
    incident = _lock(incident)
    if actor.is_customer:
        _ensure_customer_owns(incident, actor)
        if incident.is_ended:
            raise DomainError(
                _("This incident is closed; raise a new one."), code="incident_closed", status=409
            )
    comment = comment_add(ticket=incident, actor=actor, body=body, visibility=visibility)
    fields = []
    resumed = False
    if actor.is_customer:
        if (
            incident.status == IncidentStatus.PENDING
            and incident.pending_reason == PendingReason.AWAITING_CUSTOMER
        ):
            old = _run_transition(incident, "resume", None)
            fields += ["status", "pending_reason"]
            _status_event(incident, actor, old, reason="customer_replied")
            resumed = True
        _notify(
            incident, "customer_replied", actor, key=f"comment:{comment.pk}", comment_id=comment.pk
        )
    elif visibility == CommentVisibility.PUBLIC and incident.first_response_at is None:
        incident.first_response_at = comment.created_at
        fields.append("first_response_at")
    if fields:
        _save(incident, fields)
    if resumed:
        sla.sla_record_resume(record=incident, actor=actor)
    if "first_response_at" in fields:
        sla.sla_record_respond(record=incident, actor=actor, at=incident.first_response_at)
    return comment


@transaction.atomic
def incident_rate(
    *, actor: User, incident: Incident, score: int, comment: str = ""
) -> SatisfactionRating:
    """The caller rates a resolved or closed incident 1-5 (once; rating again replaces it)."""
    _ensure_caller(incident, actor)
    if incident.status not in (IncidentStatus.RESOLVED, IncidentStatus.CLOSED):
        raise DomainError(
            _("Only a resolved or closed incident can be rated."), code="not_resolved", status=409
        )
    if not isinstance(score, int) or not 1 <= score <= 5:
        raise ValidationError({"score": [_("Give a rating from 1 to 5.")]})
    rating, _created = SatisfactionRating.objects.update_or_create(
        incident=incident,
        defaults={"score": score, "comment": (comment or "").strip(), "rated_by": actor},
    )
    event_record(
        ticket=incident,
        event_type=EventType.FIELD_CHANGED,
        actor=actor,
        data={"field": "rating", "old": None, "new": score},
    )
    return rating


@transaction.atomic
def incident_declare_major(
    *, actor: User, incident: Incident, manager: User | None = None
) -> Incident:
    """Declare a major incident (managers), naming its major-incident manager."""
    if not actor.has_perm("incidents.declare_major_incident"):
        raise DomainError(
            _("You are not allowed to declare major incidents."), code="forbidden", status=403
        )
    if manager is not None and not manager.has_perm(WORKSPACE_PERMISSION):
        raise ValidationError({"manager": [_("The major-incident manager must be an agent.")]})
    incident = _lock(incident)
    if not incident.is_open:
        raise DomainError(
            _("Only an open incident can become a major incident."), code="not_open", status=409
        )
    if incident.is_major:
        return incident
    incident.is_major = True
    incident.major_incident_manager = manager or actor
    _save(incident, ["is_major", "major_incident_manager"])
    event_record(
        ticket=incident,
        event_type=EventType.FIELD_CHANGED,
        actor=actor,
        data={
            "field": "is_major",
            "old": False,
            "new": True,
            "manager": str(incident.major_incident_manager),
        },
    )
    _notify(incident, "major_declared", actor, key="declared")
    return incident


@transaction.atomic
def incident_major_update(
    *, actor: User, incident: Incident, body: str, send_to_customers: bool = True
) -> MajorIncidentUpdate:
    """Add an entry to a major incident's communications log (sent to affected customers),
    until it is closed: "service restored" goes out once it is resolved. The entry is also
    an event of the incident's timeline."""
    incident = _lock(incident)
    if not incident.is_major:
        raise DomainError(_("This is not a major incident."), code="not_major", status=409)
    if incident.is_ended:
        raise DomainError(
            _("A closed or cancelled incident takes no more updates."),
            code="incident_closed",
            status=409,
        )
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": [_("Write the update.")]})
    update = MajorIncidentUpdate.objects.create(
        incident=incident, body=body, is_sent_to_customers=send_to_customers, author=actor
    )
    event_record(
        ticket=incident,
        event_type=EventType.MAJOR_UPDATE_LOGGED,
        actor=actor,
        data={"update": update.pk, "body": body, "sent_to_customers": send_to_customers},
    )
    if send_to_customers:
        _notify(incident, "major_update", actor, key=f"update:{update.pk}", update_id=update.pk)
    return update


@transaction.atomic
def incident_watch(*, actor: User, incident: Incident, user: User, watch: bool = True) -> None:
    """Add or remove a watcher, audited. Agents may add anyone who may see the incident
    (watchers are told of its resolution: not a customer of another organisation);
    customers only themselves."""
    if actor.is_customer and user.pk != actor.pk:
        raise DomainError(_("You can only watch for yourself."), code="forbidden", status=403)
    if watch and not ticket_is_visible(ticket=incident, user=user):
        message = _("%(user)s may not see this incident.") % {"user": user}
        raise DomainError(message, code="invalid", fields={"user": [message]})
    incident = _lock(incident)
    before = set(incident.watchers.values_list("pk", flat=True))
    after = before | {user.pk} if watch else before - {user.pk}
    if after == before:
        return
    if watch:
        incident.watchers.add(user)
    else:
        incident.watchers.remove(user)
    event_record(
        ticket=incident,
        event_type=EventType.FIELD_CHANGED,
        actor=actor,
        data={
            "field": "watchers",
            "old": sorted(before),
            "new": sorted(after),
            "added" if watch else "removed": str(user),
        },
    )


def incident_close_resolved(*, now=None, batch: int = 500) -> int:
    """Close incidents resolved more than ITSM_INCIDENT_AUTO_CLOSE_DAYS ago (beat job).

    Reads the (status, resolved_at) index, closes in small transactions and skips rows
    another worker holds, so it scales and runs safely in parallel.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.ITSM_INCIDENT_AUTO_CLOSE_DAYS)
    closed = 0
    while True:
        with transaction.atomic():
            due = list(
                Incident.objects.select_for_update(skip_locked=True)
                .filter(status=IncidentStatus.RESOLVED, resolved_at__lt=cutoff)
                .order_by("resolved_at")[:batch]
            )
            for incident in due:
                old = _run_transition(incident, "close", None)
                incident.closed_at = now
                _save(incident, ["status", "closed_at"])
                _status_event(incident, None, old, automatic=True)
        closed += len(due)
        if len(due) < batch:
            return closed


@transaction.atomic
def incident_sla_escalate(
    *,
    record: Incident,
    priority: int | None = None,
    group: SupportGroup | None = None,
    reason: str = "",
) -> Incident:
    """An SLA escalation action (no human actor): raise the priority to `priority` (never
    lowers it) and/or hand the incident to `group` (the assignee is cleared). Audited like
    any change, then the SLA matching rule is re-applied (a higher priority may bring a
    shorter target)."""
    incident = _lock(record)
    if not incident.is_open or incident.status == IncidentStatus.RESOLVED:
        return incident
    fields: list[str] = []
    if priority is not None and priority < incident.priority:
        event_record(
            ticket=incident,
            event_type=EventType.FIELD_CHANGED,
            actor=None,
            data={"field": "priority", "old": incident.priority, "new": priority, "reason": reason},
        )
        incident.priority = priority
        fields.append("priority")
    if group is not None and group.pk != incident.assignment_group_id:
        incident.assignment_group = group
        incident.assignee = None
        fields += ["assignment_group", "assignee"]
    if not fields:
        return incident
    _save(incident, fields)
    if "assignment_group" in fields:
        _assigned_event_and_notify(incident, None, key=f"sla:{reason}")
    sla.sla_record_update(record=incident, actor=None, reason=reason)
    return incident
