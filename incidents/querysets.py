from django.db import models
from django.db.models import Q

from .choices import OPEN_STATUSES


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
        return self.filter(status__in=OPEN_STATUSES)
