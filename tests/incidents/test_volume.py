import pytest
from django.db import transaction

from accounts.services import roles_apply
from core.models import Comment
from core.services import ticket_number_next
from core.volume import volume_seed
from incidents.choices import OPEN_STATUSES
from incidents.models import Incident
from incidents.volume import incident_volume_seed

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def roles(db):
    roles_apply()


def test_volume_seed_creates_exact_counts_with_consistent_numbers():
    volume_seed(organisations=3, users=80, groups=4)
    with transaction.atomic():
        ticket_number_next(prefix="INC")  # numbers handed out before the block

    result = incident_volume_seed(incidents=500, comments_per_incident=2.0)

    assert result == {"incidents": 500, "comments": 1000}
    assert Incident.objects.count() == 500
    numbers = list(Incident.objects.values_list("number", flat=True))
    assert len(set(numbers)) == 500
    assert min(numbers) == "INC0000002" and max(numbers) == "INC0000501"
    with transaction.atomic():
        assert ticket_number_next(prefix="INC") == "INC0000502"
    ids = set(Incident.objects.values_list("pk", flat=True))
    comments = Comment.objects.filter(content_type__model="incident")
    assert comments.count() == 1000
    assert set(comments.values_list("object_id", flat=True)) <= ids
    open_count = Incident.objects.filter(status__in=OPEN_STATUSES).count()
    assert 10 <= open_count <= 80  # about 8 %
    # Open incidents carry what the queues need; closed ones their resolution.
    assert not Incident.objects.filter(status="in_progress", assignee__isnull=True).exists()
    assert not Incident.objects.filter(status="closed", resolved_at__isnull=True).exists()
    assert Incident.objects.filter(title__regex=r"[\u4e00-\u9fff]").exists()


def test_volume_seed_can_write_created_events():
    volume_seed(organisations=2, users=80, groups=2)
    result = incident_volume_seed(incidents=50, comments_per_incident=0.5, events=True)
    assert result == {"incidents": 50, "comments": 25, "incident events": 50}
