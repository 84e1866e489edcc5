"""core.models.ChoiceLabelsMixin and core.links.record_url: the cheap forms of Django's
choice labels and reverse() give the same answers."""

import pytest
from django.urls import reverse
from django.utils import translation

from core.links import record_url
from incidents.choices import IncidentStatus
from tests.incidents.factories import IncidentFactory

pytestmark = pytest.mark.django_db


def test_choice_labels_follow_the_active_language_and_pass_unknown_values_through():
    incident = IncidentFactory(status=IncidentStatus.IN_PROGRESS)

    with translation.override("en"):
        english = incident.get_status_display()
    with translation.override("zh-hans"):
        chinese = incident.get_status_display()
    incident.priority = 99  # no such choice: shown as the value, as Django does

    assert (english, chinese) == ("In progress", "处理中")
    assert incident.get_priority_display() == 99


def test_record_url_is_what_reverse_gives():
    assert record_url("incidents:incident_detail", 42) == reverse(
        "incidents:incident_detail", args=[42]
    )
    assert record_url("config_items:ci_detail", 7) == reverse("config_items:ci_detail", args=[7])
