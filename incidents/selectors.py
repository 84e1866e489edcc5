"""Read side of incident management: lists and pages the user may see, without N+1."""

from django.db.models import Exists, OuterRef, Q, QuerySet

from accounts.models import User
from config_items.selectors import AffectedSummary, ci_affected_services
from core.db import CompiledQuery
from core.models import Comment
from core.selectors import prefetched_set

from .models import Incident

LIST_RELATED = ("caller", "organisation", "assignment_group", "assignee", "service", "category")
# What one incident shows beyond a list row, by join.
DETAIL_RELATED = ("subcategory", "parent", "major_incident_manager", "created_by", "rating")


def incident_list(*, user: User) -> QuerySet[Incident]:
    """Incidents visible to the user, with what a list row shows."""
    return Incident.objects.visible_to(user).select_related(*LIST_RELATED)


def incident_get(*, user: User, pk: int) -> Incident:
    """One visible incident with all its relations and its lists (CIs with their class,
    watchers, children with their assignee) as if prefetched (the API and the portal);
    DoesNotExist when not visible. Like the agent page (`incident_page_get`), a list is
    read only when the incident has rows in it."""
    incident = incident_page_get(user=user, pk=pk)
    cis, watchers, children = incident_page_lists(incident=incident)
    prefetched_set(incident, "configuration_items", cis)
    prefetched_set(incident, "watchers", watchers)
    prefetched_set(incident, "children", children)
    return incident


def _with_page_relations(queryset: QuerySet[Incident]) -> QuerySet[Incident]:
    return queryset.select_related(*DETAIL_RELATED).annotate(
        has_cis=Exists(
            Incident.configuration_items.through.objects.filter(incident_id=OuterRef("pk"))
        ),
        has_watchers=Exists(Incident.watchers.through.objects.filter(incident_id=OuterRef("pk"))),
        has_children=Exists(Incident.objects.filter(parent_id=OuterRef("pk"))),
    )


# The page's query for a user who sees every incident (no visibility condition): its SQL,
# twelve joined tables, is built once per process.
_PAGE_QUERY = CompiledQuery(
    lambda pk: _with_page_relations(Incident.objects.select_related(*LIST_RELATED)).filter(pk=pk)
)


def incident_page_get(*, user: User, pk: int) -> Incident:
    """One visible incident for its page: the related rows by join, and for its lists
    (CIs, watchers, children) only whether they have rows (`has_cis`, `has_watchers`,
    `has_children`); `incident_page_lists` reads the non-empty ones. Most incidents have
    none, and three prefetches cost more than the page's main query. DoesNotExist when
    not visible."""
    visible = incident_list(user=user)
    if not visible.query.where:  # the user sees every incident: the precompiled query
        incident = _PAGE_QUERY.first(int(pk))
        if incident is None:
            raise Incident.DoesNotExist
        return incident
    return _with_page_relations(visible).get(pk=pk)


def incident_page_lists(*, incident: Incident) -> tuple[list, list, list]:
    """(CIs with their class, watchers, child incidents with their assignee) of an
    incident read by `incident_page_get`, one query for each list that has rows."""
    cis = list(incident.configuration_items.select_related("ci_class")) if incident.has_cis else []
    watchers = list(incident.watchers.all()) if incident.has_watchers else []
    children = list(incident.children.select_related("assignee")) if incident.has_children else []
    return cis, watchers, children


def incident_last_public_reply(*, incident: Incident) -> Comment | None:
    return incident.comments.filter(visibility="public").order_by("-created_at").first()


def incident_list_for_ci(*, user: User, ci_id: int, limit: int = 20) -> list[Incident]:
    """Open incidents the user may see that name this CI, as a CI or as their service."""
    return list(
        incident_list(user=user)
        .open()
        .filter(Q(configuration_items=ci_id) | Q(service_id=ci_id))
        .distinct()
        .order_by("priority", "-created_at")[:limit]
    )


def incident_affected(*, incident: Incident) -> AffectedSummary | None:
    """The business services and customers the incident's service and CIs affect (the
    CMDB's impact analysis), or None when it names neither."""
    # all(), not values_list(): the API's incident has its CIs as a prefetched list.
    ci_ids = [ci.pk for ci in incident.configuration_items.all()] if incident.has_cis else []
    ci_ids += [incident.service_id] if incident.service_id else []
    return ci_affected_services(ci_ids=ci_ids) if ci_ids else None
