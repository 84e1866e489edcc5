import importlib

import pytest
from django.apps import apps

from tests.config_items.conftest import cmdb_defaults_create

_defaults = importlib.import_module("incidents.migrations.0002_defaults")


def incident_defaults_create() -> None:
    """Priority matrix and categories of the data migration (idempotent)."""
    _defaults.create_defaults(apps, None)


@pytest.fixture(autouse=True)
def incident_defaults(db):
    """Restored after transactional tests flush the tables the data migrations filled."""
    incident_defaults_create()
    cmdb_defaults_create()
