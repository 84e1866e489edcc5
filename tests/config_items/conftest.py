import importlib

import pytest
from django.apps import apps

_defaults = importlib.import_module("config_items.migrations.0002_default_classes")


@pytest.fixture(autouse=True)
def cmdb_defaults(db):
    """The standard classes and relationship types of the data migration, restored after
    transactional tests flush the tables."""
    _defaults.create_defaults(apps, None)
