"""The demo service levels: definitions before the demo month, clocks on its incidents,
outages and the tick after it (ITSM_DEMO_LOADERS order)."""

import importlib

import pytest
from django.apps import apps

from config_items.demo import cmdb_demo_load
from core.demo import demo_data_load
from incidents.demo import incident_demo_load
from sla.choices import AgreementKind, ClockState
from sla.demo import sla_demo_load, sla_outages_demo_load
from sla.models import Agreement, AttainmentRollup, Clock, ServiceOutage, Target

pytestmark = pytest.mark.django_db

_calendars = importlib.import_module("sla.migrations.0003_default_calendars")


def test_demo_month_has_agreements_clocks_rollups_and_outages():
    _calendars.calendars_create(apps, None)  # transactional tests may have flushed them
    demo_data_load()
    cmdb_demo_load()
    first = sla_demo_load()
    incident_demo_load()

    outages = sla_outages_demo_load()

    assert first == {"agreements": 5, "targets": 21}
    assert set(Agreement.objects.values_list("kind", flat=True)) == set(AgreementKind.values)
    # Every incident of the month got clocks; most have stopped, some are still running.
    states = set(Clock.objects.values_list("state", flat=True))
    assert {ClockState.MET, ClockState.BREACHED, ClockState.RUNNING} <= states
    stopped = Clock.objects.filter(state__in=[ClockState.MET, ClockState.BREACHED]).count()
    rolled = sum(r.met + r.breached for r in AttainmentRollup.objects.all())
    assert rolled == stopped
    assert Clock.objects.filter(calendar__name="China office hours").exists()
    assert outages["outages"] == ServiceOutage.objects.count() == 2
    # Loading again changes nothing.
    assert sla_demo_load() == first
    assert Target.objects.count() == 21
    assert sla_outages_demo_load()["outages"] == 2
