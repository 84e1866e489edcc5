from django.db import models
from django.db.models import Q
from django_fsm import FSMField, FSMModelMixin, transition

from core.models import TicketBase


class DemoTicketQuerySet(models.QuerySet):
    def visible_to(self, user):
        if user.is_customer:
            return self.filter(organisation_id=user.organisation_id)
        if user.has_perm("accounts.access_workspace"):
            return self
        return self.none()


class DemoTicket(FSMModelMixin, TicketBase):
    """A minimal concrete ticket: TicketBase plus an organisation and a two-state lifecycle."""

    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.PROTECT, null=True, blank=True
    )
    status = FSMField(default="open", protected=True)

    objects = DemoTicketQuerySet.as_manager()

    NUMBER_PREFIX = "DEM"

    class Meta:
        constraints = [models.CheckConstraint(condition=~Q(title=""), name="demo_title_set")]

    @transition(field=status, source="open", target="closed")
    def close(self):
        pass
