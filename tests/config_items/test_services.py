import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from config_items.choices import CIStatus
from config_items.models import ConfigurationItem, Relationship
from config_items.selectors import ci_history
from config_items.services import (
    baseline_create,
    baseline_diff,
    ci_create,
    ci_transition,
    ci_update,
    relationship_create,
    relationship_delete,
)
from core.exceptions import DomainError
from tests.config_items.factories import ConfigurationItemFactory, ci_class, rel_type

pytestmark = pytest.mark.django_db


def test_create_validates_attributes_and_sets_initial_status(agent):
    ci = ci_create(
        actor=agent,
        ci_class=ci_class("server"),
        name=" web-01 ",
        attributes={"os": "Linux", "ram_gb": "32"},
        status=CIStatus.LIVE,
    )

    ci.refresh_from_db()
    assert ci.name == "web-01"
    assert ci.attributes == {"os": "Linux", "ram_gb": 32}
    assert ci.status == CIStatus.LIVE


def test_create_with_bad_attribute_writes_nothing(agent):
    with pytest.raises(ValidationError) as excinfo:
        ci_create(
            actor=agent, ci_class=ci_class("server"), name="web-02", attributes={"ram_gb": "lots"}
        )

    assert "attributes.ram_gb" in excinfo.value.message_dict
    assert not ConfigurationItem.objects.exists()


def test_name_is_unique_within_a_class_case_insensitively(agent):
    ci_create(actor=agent, ci_class=ci_class("server"), name="db-01")
    ci_create(
        actor=agent, ci_class=ci_class("database"), name="db-01", attributes={"engine": "Oracle"}
    )

    with pytest.raises(ValidationError) as excinfo:
        ci_create(actor=agent, ci_class=ci_class("server"), name="DB-01")

    assert "name" in str(excinfo.value.message_dict) or "__all__" in excinfo.value.message_dict
    assert ConfigurationItem.objects.count() == 2


def test_location_must_be_a_location_ci(agent):
    server = ConfigurationItemFactory(ci_class=ci_class("server"))

    with pytest.raises(ValidationError) as excinfo:
        ci_create(actor=agent, ci_class=ci_class("server"), name="x", location=server)

    assert "location" in excinfo.value.message_dict


def test_update_merges_attributes_and_none_removes_one(agent):
    ci = ci_create(
        actor=agent, ci_class=ci_class("server"), name="s", attributes={"os": "Linux", "ram_gb": 8}
    )

    ci = ci_update(actor=agent, ci=ci, attributes={"ram_gb": 16, "os": None})

    assert ci.attributes == {"ram_gb": 16}


@pytest.mark.parametrize(
    ("start", "transition", "allowed"),
    [
        (CIStatus.PLANNED, "build", True),
        (CIStatus.PLANNED, "go_live", True),
        (CIStatus.IN_BUILD, "go_live", True),
        (CIStatus.LIVE, "start_maintenance", True),
        (CIStatus.MAINTENANCE, "go_live", True),
        (CIStatus.LIVE, "retire", True),
        (CIStatus.RETIRED, "go_live", False),
        (CIStatus.RETIRED, "build", False),
        (CIStatus.LIVE, "build", False),
        (CIStatus.PLANNED, "start_maintenance", False),
    ],
)
def test_lifecycle_graph(manager, start, transition, allowed):
    ci = ci_create(actor=manager, ci_class=ci_class("application"), name="app", status=start)

    if allowed:
        ci = ci_transition(actor=manager, ci=ci, transition=transition)
        assert ci.status != start
    else:
        with pytest.raises(DomainError) as excinfo:
            ci_transition(actor=manager, ci=ci, transition=transition)
        assert excinfo.value.code == "illegal_transition"
        ci.refresh_from_db()
        assert ci.status == start


def test_status_change_needs_its_permission(agent):
    ci = ci_create(actor=agent, ci_class=ci_class("application"), name="app")

    with pytest.raises(DomainError) as excinfo:
        ci_transition(actor=agent, ci=ci, transition="build")

    assert excinfo.value.code == "forbidden"


def test_relationship_rules(agent):
    a = ConfigurationItemFactory()
    b = ConfigurationItemFactory()
    relationship_create(actor=agent, source=a, target=b, type=rel_type("depends_on"))

    with pytest.raises(ValidationError):
        relationship_create(actor=agent, source=a, target=b, type=rel_type("depends_on"))
    with pytest.raises(ValidationError):
        relationship_create(actor=agent, source=a, target=a, type=rel_type("depends_on"))
    relationship_create(actor=agent, source=b, target=a, type=rel_type("depends_on"))

    assert Relationship.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_history_records_who_changed_which_attribute_and_relationships(agent, manager):
    ci = ci_create(
        actor=agent, ci_class=ci_class("server"), name="web-01", attributes={"ram_gb": 8}
    )
    ci_update(actor=manager, ci=ci, attributes={"ram_gb": 16})
    other = ConfigurationItemFactory(name="app")
    rel = relationship_create(actor=agent, source=other, target=ci, type=rel_type("runs_on"))
    relationship_delete(actor=manager, relationship=rel)

    history = ci_history(ci=ci)

    assert [(h["kind"], h["field"], h["old"], h["new"], h["user"]) for h in history] == [
        ("relationship_removed", "relationship", "app runs on web-01", None, "manager"),
        ("relationship_added", "relationship", None, "app runs on web-01", "agent"),
        ("changed", "attributes.ram_gb", 8, 16, "manager"),
        ("created", None, None, "web-01", "agent"),
    ]


def test_history_catches_raw_queryset_updates(agent):
    ci = ci_create(actor=agent, ci_class=ci_class("server"), name="web-01")

    ConfigurationItem.objects.filter(pk=ci.pk).update(serial_number="SN-1")

    assert ci_history(ci=ci)[0]["field"] == "serial_number"


def test_history_tables_refuse_updates(agent):
    ci = ci_create(actor=agent, ci_class=ci_class("server"), name="web-01")

    with pytest.raises(Exception, match="append_only|Cannot"), connection.cursor() as cursor:
        cursor.execute("UPDATE config_items_configurationitemevent SET name='x'")
    del ci


def test_baseline_diff_shows_changed_fields_and_attributes(agent):
    ci = ci_create(
        actor=agent, ci_class=ci_class("server"), name="web-01", attributes={"ram_gb": 8}
    )
    baseline = baseline_create(actor=agent, name="Before upgrade", cis=[ci])
    ci_update(actor=agent, ci=ci, attributes={"ram_gb": 32, "os": "Linux"}, serial_number="X1")

    diff = baseline_diff(baseline=baseline, ci=ci)

    assert diff == [
        {"field": "serial_number", "baseline": "", "current": "X1"},
        {"field": "attributes.os", "baseline": None, "current": "Linux"},
        {"field": "attributes.ram_gb", "baseline": 8, "current": 32},
    ]
