from django.db import models
from django.db.models import BooleanField, F, Func, Q

from .choices import OPEN_STATUSES

assert all(status.isidentifier() for status in OPEN_STATUSES)  # written into SQL below


class IsOpen(Func):
    """`status IN ('new', 'assigned', ...)` with the states written into the SQL.

    Bound as parameters (`status__in=OPEN_STATUSES`), the states are unknown to the generic
    plan of a prepared statement, which then cannot use the partial indexes on open
    incidents; PostgreSQL kept re-planning the queue queries (15-60 ms of planning against
    a few ms of execution at 1M incidents). With constants the generic plan uses them and
    the statement is planned once per connection.
    """

    template = "%(expressions)s IN (" + ", ".join(f"'{s}'" for s in OPEN_STATUSES) + ")"
    output_field = BooleanField()


def open_q() -> Q:
    """Open incidents (see IsOpen)."""
    return Q(IsOpen(F("status")))


# The agent queues (the workspace's tabs, the API's `queue` filter): all but "all" are
# open incidents.
QUEUE_NAMES = ("mine", "groups", "unassigned", "open", "major", "all")


def queue_q(queue: str, user, group_ids: list[int]) -> Q | None:
    """The rows of an agent queue for `user`, a member of the groups `group_ids`; None for
    "all"."""
    in_groups = Q(assignment_group_id__in=group_ids or [0])
    return {
        "mine": Q(assignee=user) & open_q(),
        "groups": in_groups & open_q(),
        "unassigned": in_groups & Q(assignee=None) & open_q(),
        "open": open_q(),
        "major": Q(is_major=True) & open_q(),
        "all": None,
    }[queue]


class IncidentQuerySet(models.QuerySet):
    def visible_to(self, user) -> "IncidentQuerySet":
        """Agents see every incident; a customer sees their own, and their organisation's
        when the organisation shares incidents among its members."""
        if not user.is_authenticated:
            return self.none()
        if user.is_customer:
            if user.organisation_id is None:
                return self.filter(caller=user)
            own = Q(caller=user)
            shared = Q(
                organisation_id=user.organisation_id,
                organisation__shares_tickets=True,
            )
            return self.filter(own | shared)
        if user.has_perm("incidents.view_incident"):
            return self
        return self.none()

    def open(self) -> "IncidentQuerySet":
        return self.filter(open_q())
