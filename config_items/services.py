"""Write side of the CMDB. Every write runs inside pghistory's context, so the history of a
CI (attribute and relationship changes) records who made it (ISO/IEC 20000-1 8.2.6).
"""

from typing import Any

import pghistory
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _
from django_fsm import can_proceed, has_transition_perm

from accounts.models import Organisation, User
from core.exceptions import DomainError

from .choices import CIStatus
from .models import (
    Baseline,
    BaselineItem,
    CIClass,
    ConfigurationItem,
    Relationship,
    RelationshipType,
)
from .schema import ci_attributes_clean, ci_class_schema

CI_FIELDS = (
    "name",
    "environment",
    "criticality",
    "owner",
    "support_group",
    "location",
    "serial_number",
    "asset_tag",
    "notes",
)

CI_TRANSITIONS = {
    "build": _("Start build"),
    "go_live": _("Go live"),
    "start_maintenance": _("Start maintenance"),
    "retire": _("Retire"),
}


def _history_context(actor: User | None, **extra):
    return pghistory.context(user=actor.pk if actor else None, **extra)


def _validate_location(location: ConfigurationItem | None) -> None:
    if location is not None and not location.ci_class.is_location:
        raise ValidationError({"location": [_("The location must be a CI of a location class.")]})


def _save(ci: ConfigurationItem, update_fields: list[str] | None = None) -> None:
    try:
        # The FSM status is protected; transitions, not clean_fields(), own it.
        ci.full_clean(exclude=["status"], validate_unique=True)
    except ValidationError as exc:
        raise ValidationError(exc.message_dict) from exc
    try:
        with transaction.atomic():
            ci.save(update_fields=update_fields)
    except IntegrityError as exc:
        raise ValidationError({"name": [_("A CI of this class already has this name.")]}) from exc


@transaction.atomic
def ci_create(
    *,
    actor: User,
    ci_class: CIClass,
    name: str,
    attributes: dict | None = None,
    organisations: list[Organisation] | None = None,
    status: str = CIStatus.PLANNED,
    **fields: Any,
) -> ConfigurationItem:
    """Create a CI with class-validated attributes; the initial status may be any state
    (discovery and imports register CIs that are already live)."""
    unknown = set(fields) - set(CI_FIELDS)
    if unknown:
        raise TypeError(f"unknown CI fields: {sorted(unknown)}")
    if status not in CIStatus.values:
        raise ValidationError({"status": [_("Unknown status.")]})
    cleaned = ci_attributes_clean(schema=ci_class_schema(ci_class), attributes=attributes or {})
    _validate_location(fields.get("location"))
    ci = ConfigurationItem(
        ci_class=ci_class, name=(name or "").strip(), attributes=cleaned, status=status, **fields
    )
    with _history_context(actor):
        _save(ci)
        if organisations:
            ci.organisations.set(organisations)
    return ci


@transaction.atomic
def ci_update(
    *,
    actor: User,
    ci: ConfigurationItem,
    attributes: dict | None = None,
    organisations: list[Organisation] | None = None,
    replace_attributes: bool = False,
    **fields: Any,
) -> ConfigurationItem:
    """Change fields and attributes of a CI; attributes merge unless `replace_attributes`.

    A None value in `attributes` removes that attribute.
    """
    unknown = set(fields) - set(CI_FIELDS) - {"ci_class"}
    if unknown:
        raise TypeError(f"unknown CI fields: {sorted(unknown)}")
    ci = ConfigurationItem.objects.select_for_update().select_related("ci_class").get(pk=ci.pk)
    for field, value in fields.items():
        setattr(ci, field, value.strip() if field == "name" and isinstance(value, str) else value)
    if attributes is not None or "ci_class" in fields:
        merged = {} if replace_attributes else dict(ci.attributes)
        for key, value in (attributes or {}).items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = value
        ci.attributes = ci_attributes_clean(schema=ci_class_schema(ci.ci_class), attributes=merged)
    _validate_location(ci.location)
    if ci.location_id == ci.pk:
        raise ValidationError({"location": [_("A CI cannot be its own location.")]})
    with _history_context(actor):
        _save(ci)
        if organisations is not None:
            ci.organisations.set(organisations)
    return ci


@transaction.atomic
def ci_transition(*, actor: User, ci: ConfigurationItem, transition: str) -> ConfigurationItem:
    """Move a CI along its lifecycle (planned → in build → live ⇄ maintenance → retired)."""
    if transition not in CI_TRANSITIONS:
        raise DomainError(_("Unknown transition."), code="unknown_transition")
    ci = ConfigurationItem.objects.select_for_update().get(pk=ci.pk)
    method = getattr(ci, transition)
    if not can_proceed(method):
        raise DomainError(
            _("A CI in state “%(state)s” cannot do “%(transition)s”.")
            % {"state": ci.get_status_display(), "transition": CI_TRANSITIONS[transition]},
            code="illegal_transition",
            status=409,
        )
    if not has_transition_perm(method, actor):
        raise DomainError(_("You may not change the status of CIs."), code="forbidden", status=403)
    method()
    with _history_context(actor, transition=transition):
        ci.save(update_fields=["status", "updated_at"])
    return ci


@transaction.atomic
def relationship_create(
    *,
    actor: User,
    source: ConfigurationItem,
    target: ConfigurationItem,
    type: RelationshipType,
) -> Relationship:
    """Relate two CIs; duplicates and self-relations are refused, cycles are allowed."""
    if source.pk == target.pk:
        raise ValidationError({"target": [_("A CI cannot be related to itself.")]})
    if Relationship.objects.filter(source=source, target=target, type=type).exists():
        raise ValidationError({"target": [_("This relationship already exists.")]})
    with _history_context(actor):
        try:
            with transaction.atomic():
                return Relationship.objects.create(source=source, target=target, type=type)
        except IntegrityError as exc:
            raise ValidationError({"target": [_("This relationship already exists.")]}) from exc


@transaction.atomic
def relationship_delete(*, actor: User, relationship: Relationship) -> None:
    """Remove a relationship; the deletion stays in the history."""
    with _history_context(actor):
        Relationship.objects.filter(pk=relationship.pk).delete()


def ci_snapshot(ci: ConfigurationItem) -> dict[str, Any]:
    """A CI as plain JSON: fields, attributes and outgoing relationships (for baselines)."""
    return {
        "name": ci.name,
        "class": ci.ci_class.code,
        "status": ci.status,
        "environment": ci.environment,
        "criticality": ci.criticality,
        "owner": ci.owner.username if ci.owner_id else None,
        "support_group": ci.support_group.name if ci.support_group_id else None,
        "location": ci.location.name if ci.location_id else None,
        "serial_number": ci.serial_number,
        "asset_tag": ci.asset_tag,
        "attributes": ci.attributes,
        "organisations": sorted(o.code for o in ci.organisations.all()),
        "relationships": sorted(
            f"{r.type.code}:{r.target.ci_class.code}:{r.target.name}" for r in ci.outgoing.all()
        ),
    }


def _snapshot_queryset(ci_ids):
    return (
        ConfigurationItem.objects.filter(pk__in=ci_ids)
        .select_related("ci_class", "owner", "support_group", "location")
        .prefetch_related("organisations", "outgoing__type", "outgoing__target__ci_class")
    )


@transaction.atomic
def baseline_create(
    *, actor: User, name: str, cis: list[ConfigurationItem], description: str = ""
) -> Baseline:
    """Take a named snapshot of a set of CIs (e.g. before a change, or a release's config)."""
    if not cis:
        raise ValidationError({"cis": [_("Choose at least one CI.")]})
    baseline = Baseline(name=(name or "").strip(), description=description, created_by=actor)
    baseline.full_clean()
    baseline.save()
    BaselineItem.objects.bulk_create(
        BaselineItem(baseline=baseline, ci=ci, snapshot=ci_snapshot(ci))
        for ci in _snapshot_queryset([c.pk for c in cis])
    )
    return baseline


def baseline_diff(*, baseline: Baseline, ci: ConfigurationItem) -> list[dict[str, Any]]:
    """Differences between a CI now and in the baseline: [{"field", "baseline", "current"}].

    Attributes are compared key by key ("attributes.ram_gb").
    """
    item = BaselineItem.objects.filter(baseline=baseline, ci=ci).first()
    if item is None:
        raise DomainError(_("This CI is not part of the baseline."), code="not_in_baseline")
    current = ci_snapshot(_snapshot_queryset([ci.pk]).get())
    before = item.snapshot
    diff = []
    for field in current:
        if field == "attributes":
            keys = sorted(set(before.get("attributes", {})) | set(current["attributes"]))
            for key in keys:
                old = before.get("attributes", {}).get(key)
                new = current["attributes"].get(key)
                if old != new:
                    diff.append({"field": f"attributes.{key}", "baseline": old, "current": new})
        elif before.get(field) != current[field]:
            diff.append({"field": field, "baseline": before.get(field), "current": current[field]})
    return diff
