from datetime import timedelta

import pytest
from django.utils import timezone

from config_items.demo import cmdb_demo_load
from core.demo import demo_data_load
from core.models import Comment, TicketEvent
from incidents.choices import IncidentStatus
from incidents.demo import MAJOR_TITLE, incident_demo_load
from incidents.models import Incident, MajorIncidentUpdate, SatisfactionRating

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo():
    demo_data_load()
    cmdb_demo_load()
    return incident_demo_load()


def test_demo_is_a_realistic_month(demo):
    assert 150 <= demo["incidents"] <= 300
    assert Incident.objects.count() == demo["incidents"]
    states = set(Incident.objects.values_list("status", flat=True))
    assert states == set(IncidentStatus.values)
    reasons = set(
        Incident.objects.filter(status=IncidentStatus.PENDING).values_list(
            "pending_reason", flat=True
        )
    )
    assert reasons and "" not in reasons
    now = timezone.now()
    oldest = Incident.objects.order_by("created_at").first().created_at
    assert now - timedelta(days=31) < oldest < now - timedelta(days=20)
    # Back-dated through the services: the audit trail starts when the incident did.
    sample = Incident.objects.order_by("created_at").first()
    created_event = TicketEvent.objects.filter(object_id=sample.pk, event_type="created").get()
    assert abs(created_event.occurred_at - sample.created_at) < timedelta(seconds=1)
    resolved = Incident.objects.filter(resolved_at__isnull=False)
    assert all(i.created_at < i.resolved_at <= now for i in resolved)
    assert Incident.objects.filter(reopen_count__gt=0).exists()
    assert SatisfactionRating.objects.filter(incident__status=IncidentStatus.CLOSED).count() > 10
    visibilities = set(Comment.objects.values_list("visibility", flat=True))
    assert visibilities == {"public", "work_note"}
    pearl = Incident.objects.filter(organisation__code="pearl-retail")
    assert any(
        "\u4e00" <= ch <= "\u9fff"
        for title in pearl.values_list("title", flat=True)
        for ch in title
    )
    assert set(Incident.objects.values_list("organisation__code", flat=True)) >= {
        "acme",
        "bluebird",
        "pearl-retail",
    }
    numbers = list(Incident.objects.order_by("created_at").values_list("number", flat=True))
    assert numbers == sorted(numbers)  # logged in order of time


def test_demo_has_a_major_incident_with_children_and_communications(demo):
    major = Incident.objects.get(title=MAJOR_TITLE)
    assert major.is_major and major.is_open
    assert major.service.name == "Online shop"
    assert major.children.count() >= 3
    assert MajorIncidentUpdate.objects.filter(incident=major).count() >= 3


def test_demo_is_idempotent(demo):
    count = Incident.objects.count()
    comments = Comment.objects.count()
    assert incident_demo_load() == {"incidents": 0}
    assert Incident.objects.count() == count
    assert Comment.objects.count() == comments
    assert timezone.now() - timezone.now() < timedelta(seconds=1)  # real clock restored
