"""Read side of the CMDB: lists, history and impact analysis."""

from dataclasses import dataclass, field

from django.apps import apps
from django.db import connection
from django.db.models import Prefetch, Q, QuerySet

from accounts.models import Organisation, User

from .choices import ImpactDirection, ImpactPropagation
from .models import CIClass, ConfigurationItem, Relationship, RelationshipType

DEFAULT_IMPACT_DEPTH = 6
MAX_IMPACT_DEPTH = 12


def ci_list(*, user: User) -> QuerySet[ConfigurationItem]:
    """CIs the user may see, with what list pages and serializers show (no N+1)."""
    return ConfigurationItem.objects.visible_to(user).select_related(
        "ci_class", "owner", "support_group", "location"
    )


def ci_get(*, user: User, pk: int) -> ConfigurationItem:
    """One visible CI with its relationships; raises DoesNotExist when not visible."""
    return (
        ci_list(user=user)
        .prefetch_related(
            "organisations",
            Prefetch(
                "outgoing",
                queryset=Relationship.objects.select_related("type", "target__ci_class"),
            ),
            Prefetch(
                "incoming",
                queryset=Relationship.objects.select_related("type", "source__ci_class"),
            ),
        )
        .get(pk=pk)
    )


def ci_class_list() -> QuerySet[CIClass]:
    return CIClass.objects.select_related("parent").prefetch_related("attribute_definitions")


def ci_history(*, ci: ConfigurationItem, limit: int = 200) -> list[dict]:
    """Changes of a CI and of its relationships, newest first: who, when, field, old, new.

    Built from the pghistory event tables (database triggers, so bulk and raw updates are
    included). Field diffs come from consecutive snapshots of the same CI.
    """
    event_model = apps.get_model("config_items", "ConfigurationItemEvent")
    snapshots = list(
        event_model.objects.filter(pgh_obj_id=ci.pk)
        .select_related("pgh_context")
        .order_by("pgh_id")
    )
    entries: list[dict] = []
    previous = None
    tracked = [
        "name",
        "status",
        "environment",
        "criticality",
        "owner_id",
        "support_group_id",
        "location_id",
        "serial_number",
        "asset_tag",
        "notes",
        "ci_class_id",
    ]
    for snap in snapshots:
        user_id = (snap.pgh_context.metadata or {}).get("user") if snap.pgh_context else None
        if previous is None:
            entries.append(
                {
                    "at": snap.pgh_created_at,
                    "user_id": user_id,
                    "kind": "created",
                    "field": None,
                    "old": None,
                    "new": snap.name,
                }
            )
        else:
            for name in tracked:
                old, new = getattr(previous, name), getattr(snap, name)
                if old != new:
                    entries.append(
                        {
                            "at": snap.pgh_created_at,
                            "user_id": user_id,
                            "kind": "changed",
                            "field": name.removesuffix("_id"),
                            "old": old,
                            "new": new,
                        }
                    )
            old_attrs, new_attrs = previous.attributes or {}, snap.attributes or {}
            for key in sorted(set(old_attrs) | set(new_attrs)):
                if old_attrs.get(key) != new_attrs.get(key):
                    entries.append(
                        {
                            "at": snap.pgh_created_at,
                            "user_id": user_id,
                            "kind": "changed",
                            "field": f"attributes.{key}",
                            "old": old_attrs.get(key),
                            "new": new_attrs.get(key),
                        }
                    )
        previous = snap
    relationship_events = (
        apps.get_model("config_items", "RelationshipEvent")
        .objects.filter(Q(source_id=ci.pk) | Q(target_id=ci.pk))
        .select_related("pgh_context", "type", "source", "target")
        .order_by("pgh_id")
    )
    for event in relationship_events:
        user_id = (event.pgh_context.metadata or {}).get("user") if event.pgh_context else None
        description = f"{event.source.name} {event.type.forward_name} {event.target.name}"
        added = event.pgh_label == "insert"
        entries.append(
            {
                "at": event.pgh_created_at,
                "user_id": user_id,
                "kind": "relationship_added" if added else "relationship_removed",
                "field": "relationship",
                "old": None if added else description,
                "new": description if added else None,
            }
        )
    users = dict(
        User.objects.filter(pk__in={e["user_id"] for e in entries if e["user_id"]}).values_list(
            "pk", "username"
        )
    )
    for entry in entries:
        entry["user"] = users.get(entry["user_id"])
    # Events of one transaction share a timestamp; keep their recorded order then.
    ordered = sorted(enumerate(entries), key=lambda pair: (pair[1]["at"], pair[0]), reverse=True)
    return [entry for _index, entry in ordered][:limit]


@dataclass
class ImpactResult:
    """CIs reached from the start CIs, each with its distance, and the edges among them."""

    start_ids: list[int]
    direction: str
    depth: int
    distances: dict[int, int] = field(default_factory=dict)
    type_codes: list[str] | None = None

    @property
    def ci_ids(self) -> list[int]:
        return list(self.distances)


def _propagating_type_ids(type_codes: list[str] | None) -> tuple[list[int], list[int]]:
    """(types where failure flows target→source, types where it flows source→target)."""
    qs = RelationshipType.objects.all()
    if type_codes:
        qs = qs.filter(code__in=type_codes)
    to_source, to_target = [], []
    for pk, impact in qs.values_list("pk", "impact"):
        if impact in (ImpactPropagation.TARGET_TO_SOURCE, ImpactPropagation.BOTH):
            to_source.append(pk)
        if impact in (ImpactPropagation.SOURCE_TO_TARGET, ImpactPropagation.BOTH):
            to_target.append(pk)
    return to_source, to_target


# Breadth-first search as one recursive query: each step carries the whole frontier and the
# set of CIs already seen, so every CI is expanded once (a plain recursive CTE expands a CI
# again at every depth it is reached by, which is what makes dense graphs slow).
_IMPACT_SQL = """
WITH RECURSIVE bfs(frontier, seen, depth) AS (
    SELECT %(start)s::bigint[], %(start)s::bigint[], 0
  UNION ALL
    SELECT step.ids, bfs.seen || step.ids, bfs.depth + 1
    FROM bfs
    CROSS JOIN LATERAL (
        SELECT coalesce(array_agg(found.ci_id), '{{}}'::bigint[]) AS ids FROM (
            (SELECT r.source_id AS ci_id FROM {rel} r
             WHERE r.target_id = ANY(bfs.frontier) AND r.type_id = ANY(%(back)s::bigint[])
             UNION
             SELECT r.target_id FROM {rel} r
             WHERE r.source_id = ANY(bfs.frontier) AND r.type_id = ANY(%(fwd)s::bigint[]))
            EXCEPT
            SELECT unnest(bfs.seen)
        ) AS found
    ) AS step
    WHERE bfs.depth < %(depth)s AND cardinality(bfs.frontier) > 0
)
SELECT unnest(frontier), depth FROM bfs WHERE depth > 0
"""


def ci_impact(
    *,
    ci_ids: list[int],
    direction: str = ImpactDirection.DOWNSTREAM,
    depth: int = DEFAULT_IMPACT_DEPTH,
    type_codes: list[str] | None = None,
) -> ImpactResult:
    """Traverse the CMDB from `ci_ids` up to `depth` hops, as one recursive SQL query.

    Downstream: every CI a failure of the start CIs reaches (what breaks). Upstream: every
    CI the start CIs rely on (what they depend on). Each relationship type's `impact` says
    which way failures travel; cycles are harmless because a CI already seen is never
    expanded again, and each CI is reported at its shortest distance. The start CIs are not
    part of the result.
    """
    depth = max(1, min(int(depth), MAX_IMPACT_DEPTH))
    to_source, to_target = _propagating_type_ids(type_codes)
    if direction == ImpactDirection.DOWNSTREAM:
        back, fwd = to_source, to_target
    else:
        back, fwd = to_target, to_source
    result = ImpactResult(
        start_ids=list(ci_ids), direction=direction, depth=depth, type_codes=type_codes
    )
    if not ci_ids or not (back or fwd):
        return result
    sql = _IMPACT_SQL.format(rel=Relationship._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(sql, {"start": list(ci_ids), "back": back, "fwd": fwd, "depth": depth})
        start = set(ci_ids)
        result.distances = {ci_id: d for ci_id, d in cursor.fetchall() if ci_id not in start}
    return result


@dataclass
class AffectedSummary:
    """What a set of CIs touches: business services and the customer organisations."""

    impact: ImpactResult
    services: list[ConfigurationItem]
    organisations: list[Organisation]


def ci_affected_services(
    *, ci_ids: list[int], depth: int = DEFAULT_IMPACT_DEPTH, impact: ImpactResult | None = None
) -> AffectedSummary:
    """Business services and organisations affected when these CIs fail (for incidents and
    changes): the services reached downstream, plus the start CIs themselves if they are
    services, and the organisations those services serve.

    A caller that already walked downstream from the same CIs to the same depth, over every
    relationship type, passes that `impact` and the walk is not repeated.
    """
    reusable = (
        impact is not None
        and impact.direction == ImpactDirection.DOWNSTREAM
        and impact.depth == max(1, min(int(depth), MAX_IMPACT_DEPTH))
        and not impact.type_codes
        and set(impact.start_ids) == set(ci_ids)
    )
    if not reusable:
        impact = ci_impact(ci_ids=ci_ids, direction=ImpactDirection.DOWNSTREAM, depth=depth)
    candidates = set(impact.ci_ids) | set(ci_ids)
    services = list(
        ConfigurationItem.objects.filter(pk__in=candidates, ci_class__service_kind="business")
        .select_related("ci_class")
        .order_by("name")
    )
    organisations = list(
        Organisation.objects.filter(cis__in=[s.pk for s in services]).distinct().order_by("name")
    )
    return AffectedSummary(impact=impact, services=services, organisations=organisations)


def impact_graph(*, impact: ImpactResult, limit: int = 500) -> dict:
    """Nodes and edges of an impact result for the graph view (cytoscape's JSON shape)."""
    ids = list(impact.start_ids) + sorted(impact.ci_ids, key=lambda i: impact.distances[i])[:limit]
    cis = ConfigurationItem.objects.filter(pk__in=ids).select_related("ci_class")
    nodes = [
        {
            "data": {
                "id": str(ci.pk),
                "label": ci.name,
                "class": ci.ci_class.name,
                "icon": ci.ci_class.icon,
                "distance": impact.distances.get(ci.pk, 0),
                "start": ci.pk in impact.start_ids,
                "service": ci.ci_class.service_kind,
                "status": ci.status,
            }
        }
        for ci in cis
    ]
    edges = [
        {
            "data": {
                "id": f"r{r.pk}",
                "source": str(r.source_id),
                "target": str(r.target_id),
                "label": r.type.forward_name,
            }
        }
        for r in Relationship.objects.filter(source_id__in=ids, target_id__in=ids).select_related(
            "type"
        )[: limit * 4]
    ]
    return {"nodes": nodes, "edges": edges, "truncated": len(impact.ci_ids) > limit}
