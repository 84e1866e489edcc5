"""Write side of the customer portal: the few steps that combine process services so that
they succeed or fail together (an incident and its files, several files at once)."""

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from config_items.models import ConfigurationItem
from core.exceptions import DomainError
from core.models import Attachment
from core.selectors import ticket_is_visible
from core.services import attachment_add, attachment_validate
from incidents.choices import Channel
from incidents.models import Category, Incident
from incidents.services import incident_create


def _validate_files(files: list[UploadedFile]) -> None:
    # Checked before anything is stored: a refused third file must not leave the first two
    # on disk after the transaction rolls back.
    for uploaded_file in files:
        attachment_validate(uploaded_file=uploaded_file)


@transaction.atomic
def portal_incident_raise(
    *,
    actor: User,
    title: str,
    description: str,
    impact: int,
    urgency: int,
    service: ConfigurationItem | None = None,
    category: Category | None = None,
    subcategory: Category | None = None,
    files: list[UploadedFile] | None = None,
) -> Incident:
    """A customer raises an incident from the portal, with its files, in one transaction:
    a refused file leaves no incident behind (ISO/IEC 20000-1 8.6.1)."""
    files = files or []
    _validate_files(files)
    incident = incident_create(
        actor=actor,
        title=title,
        description=description,
        channel=Channel.PORTAL,
        service=service,
        category=category,
        subcategory=subcategory,
        impact=impact,
        urgency=urgency,
    )
    for uploaded_file in files:
        attachment_add(ticket=incident, actor=actor, uploaded_file=uploaded_file)
    return incident


@transaction.atomic
def portal_incident_attach(
    *, actor: User, incident: Incident, files: list[UploadedFile]
) -> list[Attachment]:
    """A customer adds files to an incident they may see and that is still open or
    resolved; all files are stored, or none."""
    if not ticket_is_visible(ticket=incident, user=actor):
        raise DomainError(_("This incident is not yours."), code="forbidden", status=403)
    incident = Incident.objects.select_for_update().get(pk=incident.pk)
    if incident.is_ended:
        raise DomainError(
            _("This incident is closed; raise a new one."), code="incident_closed", status=409
        )
    if not files:
        raise DomainError(
            _("Choose at least one file."),
            code="no_file",
            fields={"files": [str(_("Choose at least one file."))]},
        )
    _validate_files(files)
    return [attachment_add(ticket=incident, actor=actor, uploaded_file=f) for f in files]
