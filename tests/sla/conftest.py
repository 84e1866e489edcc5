import pytest

from tests.config_items.conftest import cmdb_defaults_create
from tests.incidents.conftest import incident_defaults_create

# The broker fixtures of the notification tests serve the real-worker tests here too.
from tests.notifications.conftest import throwaway_redis, use_broker  # noqa: F401


@pytest.fixture(autouse=True)
def sla_defaults(db):
    """Priority matrix, categories and CI classes (transactional tests flush them)."""
    incident_defaults_create()
    cmdb_defaults_create()
