import importlib

import pytest
from django.apps import apps

from tests.config_items.conftest import cmdb_defaults_create
from tests.incidents.conftest import incident_defaults_create

# The broker fixtures of the notification tests serve the real-worker tests here too.
from tests.notifications.conftest import use_broker  # noqa: F401

_calendars = importlib.import_module("sla.migrations.0003_default_calendars")


@pytest.fixture(autouse=True)
def sla_defaults(db):
    """Priority matrix, categories, CI classes and the default business calendars of the
    data migrations (transactional tests flush them)."""
    incident_defaults_create()
    cmdb_defaults_create()
    _calendars.calendars_create(apps, None)
