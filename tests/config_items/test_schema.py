import pytest
from django.core.exceptions import ValidationError

from config_items.models import AttributeDefinition, CIClass
from config_items.schema import ci_attributes_clean, ci_class_descendant_ids, ci_class_schema
from tests.config_items.factories import ci_class

pytestmark = pytest.mark.django_db


def test_subclass_inherits_attributes_of_its_ancestors():
    schema = ci_class_schema(ci_class("virtual_machine"))

    keys = [d.key for d in schema]
    assert {"manufacturer", "os", "ram_gb", "hypervisor"} <= set(keys)


def test_subclass_definition_overrides_the_inherited_one():
    vm = ci_class("virtual_machine")
    AttributeDefinition.objects.create(ci_class=vm, key="os", label="Guest OS", type="string")

    schema = {d.key: d for d in ci_class_schema(vm)}

    assert schema["os"].label == "Guest OS"
    assert schema["os"].type == "string"


def test_descendants_include_the_class_and_all_subclasses():
    ids = ci_class_descendant_ids(ci_class("hardware").pk)

    codes = set(CIClass.objects.filter(pk__in=ids).values_list("code", flat=True))
    assert codes == {"hardware", "server", "virtual_machine", "network_device", "storage"}


def test_values_are_coerced_to_their_types():
    schema = ci_class_schema(ci_class("server"))

    cleaned = ci_attributes_clean(
        schema=schema,
        attributes={
            "os": "Linux",
            "cpu_cores": "8",
            "ram_gb": 64,
            "ip_address": " 10.0.0.1 ",
            "purchase_date": "2025-03-01",
            "hostname": "  web-01 ",
        },
    )

    assert cleaned == {
        "os": "Linux",
        "cpu_cores": 8,
        "ram_gb": 64,
        "ip_address": "10.0.0.1",
        "purchase_date": "2025-03-01",
        "hostname": "web-01",
    }


@pytest.mark.parametrize(
    ("attributes", "field"),
    [
        ({"os": "BeOS"}, "attributes.os"),
        ({"cpu_cores": "eight"}, "attributes.cpu_cores"),
        ({"cpu_cores": "2.5"}, "attributes.cpu_cores"),
        ({"ip_address": "300.1.1.1"}, "attributes.ip_address"),
        ({"purchase_date": "01/03/2025"}, "attributes.purchase_date"),
        ({"colour": "red"}, "attributes.colour"),
    ],
)
def test_invalid_values_are_reported_by_attribute(attributes, field):
    schema = ci_class_schema(ci_class("server"))

    with pytest.raises(ValidationError) as excinfo:
        ci_attributes_clean(schema=schema, attributes=attributes)

    assert list(excinfo.value.message_dict) == [field]


def test_required_attribute_is_enforced_unless_partial():
    schema = ci_class_schema(ci_class("database"))

    with pytest.raises(ValidationError) as excinfo:
        ci_attributes_clean(schema=schema, attributes={"version": "16"})

    assert "attributes.engine" in excinfo.value.message_dict
    assert ci_attributes_clean(schema=schema, attributes={"version": "16"}, partial=True) == {
        "version": "16"
    }
