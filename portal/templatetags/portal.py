"""Presentation of incidents in customer terms (no logic beyond wording, STYLE.md §10)."""

from django import template
from django.utils.translation import gettext_lazy as _

from incidents.choices import IncidentStatus, PendingReason

register = template.Library()

# (label, Bootstrap colour) per state; internal steps a customer cannot act on (new vs
# assigned) read the same.
_STATES = {
    IncidentStatus.NEW: (_("Received"), "secondary"),
    IncidentStatus.ASSIGNED: (_("Received"), "secondary"),
    IncidentStatus.IN_PROGRESS: (_("Being worked on"), "primary"),
    IncidentStatus.PENDING: (_("On hold"), "info"),
    IncidentStatus.RESOLVED: (_("Solved, please confirm"), "success"),
    IncidentStatus.CLOSED: (_("Closed"), "dark"),
    IncidentStatus.CANCELLED: (_("Cancelled"), "dark"),
}
_AWAITING_YOU = (_("Waiting for your reply"), "warning")
# In the history a past resolution is a fact, not a request to confirm.
_SOLVED = (_("Solved"), "success")


def customer_state(
    status: str, pending_reason: str = "", *, in_history: bool = False
) -> tuple[str, str]:
    """The (label, colour) a customer sees for an incident state."""
    if status == IncidentStatus.PENDING and pending_reason == PendingReason.AWAITING_CUSTOMER:
        return _AWAITING_YOU
    if in_history and status == IncidentStatus.RESOLVED:
        return _SOLVED
    return _STATES.get(status, (status, "secondary"))


@register.inclusion_tag("portal/partials/state_badge.html")
def state_badge(incident):
    label, tone = customer_state(incident.status, incident.pending_reason)
    return {"label": label, "tone": tone}
