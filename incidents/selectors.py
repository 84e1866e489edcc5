"""Read side of incident management: lists and pages the user may see, without N+1."""

from django.db.models import Prefetch, QuerySet

from accounts.models import User
from core.models import Comment

from .models import Incident

LIST_RELATED = ("caller", "organisation", "assignment_group", "assignee", "service", "category")


def incident_list(*, user: User) -> QuerySet[Incident]:
    """Incidents visible to the user, with what a list row shows."""
    return Incident.objects.visible_to(user).select_related(*LIST_RELATED)


def incident_get(*, user: User, pk: int) -> Incident:
    """One visible incident with its page's relations; DoesNotExist when not visible."""
    return (
        incident_list(user=user)
        .select_related("subcategory", "parent", "major_incident_manager", "created_by", "rating")
        .prefetch_related(
            "configuration_items__ci_class",
            "watchers",
            Prefetch("children", queryset=Incident.objects.select_related("assignee")),
        )
        .get(pk=pk)
    )


def incident_last_public_reply(*, incident: Incident) -> Comment | None:
    return incident.comments.filter(visibility="public").order_by("-created_at").first()
