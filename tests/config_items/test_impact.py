import pytest

from config_items.choices import ImpactDirection
from config_items.selectors import ci_affected_services, ci_impact
from tests.config_items.factories import (
    ConfigurationItemFactory,
    RelationshipFactory,
    ci_class,
    rel_type,
)

pytestmark = pytest.mark.django_db


def _chain(length, type_code="depends_on"):
    """ci0 depends on ci1 depends on ci2 ... (a failure travels from the end to ci0)."""
    cis = [ConfigurationItemFactory(name=f"n{i}") for i in range(length)]
    for a, b in zip(cis, cis[1:], strict=False):
        RelationshipFactory(source=a, target=b, type=rel_type(type_code))
    return cis


def test_downstream_follows_dependants_with_distances():
    cis = _chain(4)

    result = ci_impact(ci_ids=[cis[3].pk], direction=ImpactDirection.DOWNSTREAM)

    assert result.distances == {cis[2].pk: 1, cis[1].pk: 2, cis[0].pk: 3}


def test_upstream_follows_dependencies():
    cis = _chain(4)

    result = ci_impact(ci_ids=[cis[0].pk], direction=ImpactDirection.UPSTREAM)

    assert result.distances == {cis[1].pk: 1, cis[2].pk: 2, cis[3].pk: 3}


def test_depth_limit_stops_the_walk():
    cis = _chain(10)

    result = ci_impact(ci_ids=[cis[9].pk], depth=3)

    assert sorted(result.distances.values()) == [1, 2, 3]
    assert cis[5].pk not in result.distances


def test_cycles_terminate_and_each_ci_appears_once_at_its_shortest_distance():
    a, b, c = (ConfigurationItemFactory(name=n) for n in "abc")
    RelationshipFactory(source=a, target=b)
    RelationshipFactory(source=b, target=c)
    RelationshipFactory(source=c, target=a)

    result = ci_impact(ci_ids=[a.pk], depth=12)

    assert result.distances == {c.pk: 1, b.pk: 2}


def test_part_of_propagates_from_component_to_whole():
    disk = ConfigurationItemFactory(name="disk", ci_class=ci_class("storage"))
    server = ConfigurationItemFactory(name="srv", ci_class=ci_class("server"))
    RelationshipFactory(source=disk, target=server, type=rel_type("part_of"))

    down = ci_impact(ci_ids=[disk.pk])
    up = ci_impact(ci_ids=[server.pk], direction=ImpactDirection.UPSTREAM)

    assert down.distances == {server.pk: 1}
    assert up.distances == {disk.pk: 1}


def test_backup_relationships_do_not_propagate():
    db = ConfigurationItemFactory(name="db")
    backup = ConfigurationItemFactory(name="backup")
    RelationshipFactory(source=db, target=backup, type=rel_type("backed_up_by"))

    assert ci_impact(ci_ids=[backup.pk]).distances == {}


def test_walk_can_be_restricted_to_relationship_types():
    app = ConfigurationItemFactory(name="app")
    vm = ConfigurationItemFactory(name="vm", ci_class=ci_class("virtual_machine"))
    db = ConfigurationItemFactory(name="db", ci_class=ci_class("database"), attributes={})
    RelationshipFactory(source=app, target=vm, type=rel_type("runs_on"))
    RelationshipFactory(source=app, target=db, type=rel_type("depends_on"))

    result = ci_impact(ci_ids=[app.pk], direction=ImpactDirection.UPSTREAM, type_codes=["runs_on"])

    assert result.distances == {vm.pk: 1}


def test_affected_business_services_and_organisations(org_a, org_b):
    server = ConfigurationItemFactory(name="web-01", ci_class=ci_class("server"))
    app = ConfigurationItemFactory(name="shop-app")
    shop = ConfigurationItemFactory(name="Online shop", ci_class=ci_class("business_service"))
    unrelated = ConfigurationItemFactory(name="Payroll", ci_class=ci_class("business_service"))
    shop.organisations.set([org_a])
    unrelated.organisations.set([org_b])
    RelationshipFactory(source=app, target=server, type=rel_type("runs_on"))
    RelationshipFactory(source=shop, target=app, type=rel_type("depends_on"))

    summary = ci_affected_services(ci_ids=[server.pk])

    assert summary.services == [shop]
    assert summary.organisations == [org_a]
