import pytest

from accounts.choices import Role
from incidents.services import incident_create
from tests.config_items.conftest import cmdb_defaults_create
from tests.config_items.factories import ConfigurationItemFactory, ci_class
from tests.factories import SupportGroupFactory, UserFactory
from tests.incidents.conftest import incident_defaults_create


@pytest.fixture(autouse=True)
def portal_defaults(db):
    """Categories, priority matrix and CI classes of the data migrations."""
    incident_defaults_create()
    cmdb_defaults_create()


@pytest.fixture
def desk(agent):
    group = SupportGroupFactory(name="Service desk")
    group.members.add(agent)
    return group


@pytest.fixture
def colleague_a(org_a, roles):
    """A second customer of organisation A."""
    return UserFactory(username="cust_a2", organisation=org_a, roles=[Role.CUSTOMER])


@pytest.fixture
def shop(org_a):
    """A business service of organisation A."""
    service = ConfigurationItemFactory(name="Online shop", ci_class=ci_class("business_service"))
    service.organisations.set([org_a])
    return service


@pytest.fixture
def incident_a(customer_a):
    return incident_create(
        actor=customer_a, title="Printer on floor 2 jams", description="Every *second* page."
    )
