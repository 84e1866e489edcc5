"""Read side of the customer portal: what a customer may see, always through the process
apps' own visibility rules (Incident.objects.visible_to, ConfigurationItem visible_to)."""

from django.db.models import Count, Q, QuerySet

from accounts.models import User
from config_items.choices import CIStatus, ServiceKind
from config_items.models import ConfigurationItem
from incidents.choices import ENDED_STATUSES, OPEN_STATUSES, IncidentStatus, PendingReason
from incidents.models import Category, Incident
from incidents.selectors import incident_list

# Tabs of "My tickets": which incident states each shows.
TAB_STATUSES = {
    "open": OPEN_STATUSES,
    "resolved": (IncidentStatus.RESOLVED,),
    "closed": ENDED_STATUSES,
}


def portal_incident_list(
    *, user: User, tab: str | None = None, query: str = "", only_mine: bool = False
) -> QuerySet[Incident]:
    """The customer's incidents (and their organisation's, where it shares tickets), of
    one tab if given, optionally narrowed by a search over number and short description."""
    qs = incident_list(user=user)
    if tab in TAB_STATUSES:
        qs = qs.filter(status__in=TAB_STATUSES[tab])
    if only_mine:
        qs = qs.filter(caller=user)
    query = query.strip()
    if query:
        qs = qs.filter(Q(title__icontains=query) | Q(number__iexact=query))
    return qs.order_by("-created_at", "-pk")


def portal_incident_counts(*, user: User) -> dict[str, int]:
    """Counts for the portal home and the tabs, in one query."""
    awaiting = Q(status=IncidentStatus.PENDING, pending_reason=PendingReason.AWAITING_CUSTOMER)
    return Incident.objects.visible_to(user).aggregate(
        open=Count("pk", filter=Q(status__in=OPEN_STATUSES)),
        awaiting_reply=Count("pk", filter=awaiting),
        resolved=Count("pk", filter=Q(status=IncidentStatus.RESOLVED)),
        closed=Count("pk", filter=Q(status__in=ENDED_STATUSES)),
    )


def portal_service_list(*, user: User) -> QuerySet[ConfigurationItem]:
    """Business services of the customer's organisation that a customer may report on."""
    return (
        ConfigurationItem.objects.visible_to(user)
        .filter(ci_class__service_kind=ServiceKind.BUSINESS)
        .exclude(status=CIStatus.RETIRED)
        .order_by("name", "pk")
    )


def portal_category_list() -> QuerySet[Category]:
    """Active top-level incident categories."""
    return Category.objects.filter(is_active=True, parent=None).order_by("name")


def portal_subcategory_list(*, category_id: int | None = None) -> QuerySet[Category]:
    """Active subcategories, of one category when given."""
    qs = Category.objects.filter(is_active=True, parent__isnull=False).order_by("name")
    if category_id is not None:
        qs = qs.filter(parent_id=category_id)
    return qs
