import pytest

from config_items.demo import cmdb_demo_load
from config_items.models import ConfigurationItem
from config_items.selectors import ci_affected_services
from core.demo import demo_data_load

pytestmark = pytest.mark.django_db


def test_demo_cmdb_is_idempotent_and_tells_an_impact_story():
    demo_data_load()

    first = cmdb_demo_load()
    second = cmdb_demo_load()
    host = ConfigurationItem.objects.get(name="esx-host-01")
    summary = ci_affected_services(ci_ids=[host.pk])

    assert first == {"cis": 19, "relationships": 25}
    assert second == {"cis": 0, "relationships": 0}
    assert [s.name for s in summary.services] == ["Online shop", "Order to cash (ERP)"]
    assert [o.code for o in summary.organisations] == ["acme", "bluebird", "pearl-retail"]
