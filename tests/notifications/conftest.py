import pytest

from itsm.celery import app as celery_app
from tests.config_items.conftest import cmdb_defaults_create
from tests.incidents.conftest import incident_defaults_create


@pytest.fixture(autouse=True)
def notification_defaults(db):
    """Priority matrix, categories and CI classes (transactional tests flush them)."""
    incident_defaults_create()
    cmdb_defaults_create()


@pytest.fixture
def use_broker(settings):
    """Point this process's Celery producer at another broker URL for the test."""

    def forget_pools() -> None:
        # Connection and producer pools are bound to the URL they were created with;
        # Celery resets the same two after a fork.
        celery_app._pool = None
        celery_app.amqp._producer_pool = None

    def use(url: str) -> None:
        settings.CELERY_BROKER_URL = url
        forget_pools()

    yield use
    forget_pools()
