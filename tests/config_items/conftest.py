import importlib

import pytest
from django.apps import apps

_defaults = importlib.import_module("config_items.migrations.0002_default_classes")


def cmdb_defaults_create() -> None:
    """The standard classes and relationship types of the data migration (idempotent)."""
    _defaults.create_defaults(apps, None)


@pytest.fixture(autouse=True)
def cmdb_defaults(db):
    """Restored after transactional tests flush the tables the data migration filled."""
    cmdb_defaults_create()
