"""core.api.serializers: fields built once per class (CachedFieldsModelSerializer), copied
cheaply per instance (fields_copy), never shared between instances; primary-key references
read by a compiled statement (CompiledPrimaryKeyRelatedField) as DRF reads them; single
objects rendered by a shared instance (represent) as by a new one; attributes read by a
plan (PlannedRepresentation) with DRF's results and errors."""

import importlib
from functools import partialmethod

import pytest
from django.apps import apps
from rest_framework import serializers
from rest_framework.fields import is_simple_callable
from rest_framework.request import Request

import core.api.serializers
from accounts.models import SupportGroup
from config_items.api.serializers import ImpactSerializer
from core.api.serializers import CachedFieldsSerializer, CompiledPrimaryKeyRelatedField, ref
from incidents.api.serializers import (
    IncidentCreateInputSerializer,
    IncidentCustomerSerializer,
    IncidentSerializer,
    UserRefSerializer,
)
from incidents.selectors import incident_get
from tests.factories import SupportGroupFactory
from tests.incidents.factories import IncidentFactory


def test_each_instance_gets_its_own_bound_fields_from_the_class_copy():
    first, second = IncidentSerializer(), IncidentSerializer()

    assert list(first.fields) == list(second.fields)
    assert first.fields["caller"] is not second.fields["caller"]
    assert first.fields["caller"].parent is first
    assert second.fields["caller"].parent is second
    assert "_built_fields" in IncidentSerializer.__dict__


def test_the_cache_is_per_class_not_inherited():
    assert UserRefSerializer().fields and IncidentSerializer().fields  # built when read

    assert list(UserRefSerializer.__dict__["_built_fields"]) == ["id", "username", "name"]
    assert "assignee" in IncidentSerializer.__dict__["_built_fields"]


def test_plain_fields_are_copied_and_bound_to_each_instance():
    first, second = IncidentCreateInputSerializer(), IncidentCreateInputSerializer()

    title_a, title_b = first.fields["title"], second.fields["title"]
    assert title_a is not title_b
    assert (title_a.parent, title_b.parent) == (first, second)
    assert title_a.max_length == title_b.max_length == 200
    template = IncidentCreateInputSerializer._declared_fields["title"]
    assert template.parent is None  # the class's field is never bound


def test_nested_fields_are_rebuilt_so_their_children_reach_the_instance_context():
    request = object()
    serializer = IncidentCreateInputSerializer(context={"request": request})

    cis = serializer.fields["configuration_items"]  # many=True: a child relation inside
    assert cis.child_relation.parent is cis
    assert cis.child_relation.context["request"] is request
    names = ImpactSerializer(context={"request": request}).fields["affected_organisations"]
    assert names.child.context["request"] is request


def _api_serializer_classes() -> list[type]:
    """Every serializer class of the apps' `api.serializers` modules."""
    found = set()
    for config in apps.get_app_configs():
        try:
            module = importlib.import_module(f"{config.name}.api.serializers")
        except ModuleNotFoundError:
            continue
        found |= {
            value
            for value in vars(module).values()
            if isinstance(value, type) and issubclass(value, serializers.BaseSerializer)
        }
    return sorted(found, key=lambda cls: (cls.__module__, cls.__name__))


def test_references_are_declared_with_ref_not_as_nested_serializers():
    """A nested reference serializer is rebuilt for every instance of its parent and
    builds its fields on each render; `ref()` renders the same shape from one shared
    instance."""
    classes = _api_serializer_classes()
    assert len(classes) > 20  # the apps' modules were found
    nested = [
        f"{cls.__module__}.{cls.__name__}.{name}"
        for cls in classes
        for name, field in cls._declared_fields.items()
        if type(getattr(field, "child", field)).__name__.endswith("RefSerializer")
    ]
    assert nested == []


def _outcome(field, data):
    try:
        return field.run_validation(data)
    except serializers.ValidationError as error:
        return error.detail


@pytest.mark.django_db
def test_a_compiled_reference_accepts_and_refuses_what_drf_does():
    group = SupportGroupFactory(name="Network")
    retired = SupportGroupFactory(name="Retired", is_active=False)
    active = SupportGroup.objects.filter(is_active=True)
    compiled = CompiledPrimaryKeyRelatedField(queryset=active, allow_null=True)
    plain = serializers.PrimaryKeyRelatedField(queryset=active, allow_null=True)

    assert _outcome(compiled, group.pk) == group
    assert _outcome(compiled, str(group.pk)).name == "Network"
    for data in (retired.pk, 10**9, 10**30, "abc", "1.5x", True, [group.pk], None, ""):
        assert _outcome(compiled, data) == _outcome(plain, data), data
    assert "does not exist" in str(_outcome(compiled, retired.pk)[0])


@pytest.mark.django_db
def test_a_reference_field_renders_what_the_nested_serializer_renders(agent, manager):
    class Nested(serializers.Serializer):
        one = UserRefSerializer(source="agent")
        many = UserRefSerializer(source="people", many=True)
        none = UserRefSerializer(source="nobody", allow_null=True)

    class Referenced(serializers.Serializer):
        one = ref(UserRefSerializer, source="agent")
        many = ref(UserRefSerializer, source="people", many=True)
        none = ref(UserRefSerializer, source="nobody", allow_null=True)

    holder = type("Holder", (), {"agent": agent, "people": [agent, manager], "nobody": None})
    expected = Nested(holder).data

    assert Referenced(holder).data == expected
    assert expected["one"] == {"id": agent.pk, "username": agent.username, "name": str(agent)}
    assert [p["id"] for p in expected["many"]] == [agent.pk, manager.pk]
    assert expected["none"] is None
    assert Referenced().fields["one"].read_only


@pytest.mark.django_db
def test_represent_renders_what_a_new_serializer_renders_call_after_call(agent, manager, rf):
    def context(user):
        request = Request(rf.get("/api/v1/incidents/", HTTP_HOST="localhost"))
        request.user = user
        return {"request": request}

    first = IncidentFactory(title="Printer offline", description="*Floor* 3")
    second = IncidentFactory(title="VPN drops", assignee=agent, is_major=True)
    calls = [(first, agent), (second, manager), (first, manager), (second, agent)]

    for incident, user in calls:
        incident = incident_get(user=user, pk=incident.pk)
        expected = IncidentSerializer(incident, context=context(user)).data
        rendered = IncidentSerializer.represent(incident, context=context(user))
        assert rendered == expected
        assert rendered.serializer.instance is incident  # for the browsable API
    assert IncidentSerializer.represent(first, context=context(agent))["title"] == "Printer offline"


def _drf(serializer, instance):
    """What DRF's own Serializer.to_representation gives."""
    return serializers.Serializer.to_representation(serializer, instance)


@pytest.mark.django_db
def test_the_planned_representation_is_drfs(agent, manager, rf):
    request = Request(rf.get("/api/v1/incidents/", HTTP_HOST="localhost"))
    request.user = manager
    parent = IncidentFactory(title="Printer floor 3")
    incident = IncidentFactory(
        title="VPN drops", description="*Since* noon", assignee=agent, is_major=True,
        major_incident_manager=manager, parent=parent,
    )  # fmt: skip
    incident = incident_get(user=manager, pk=incident.pk)

    for serializer_class in (IncidentSerializer, IncidentCustomerSerializer):
        serializer = serializer_class(context={"request": request})
        planned = serializer.to_representation(incident)
        assert planned == _drf(serializer, incident)
        assert serializer.to_representation(incident) == planned  # the plan, reused
    assert planned["status_label"] == incident.get_status_display()  # a method, called
    assert planned["service"] is None


class _Shapes(CachedFieldsSerializer):
    plain = serializers.CharField()
    shout = serializers.CharField()  # a method: called, as DRF calls it
    loud = serializers.CharField(source="shout")
    defaulted = serializers.CharField(default="fallback")  # missing: the default
    optional = serializers.CharField(required=False)  # missing: left out
    nothing = serializers.CharField(allow_null=True)  # None
    nested = serializers.CharField(source="inner.value")  # two parts: DRF's path
    whole = serializers.DictField(source="*", child=serializers.CharField())
    label = serializers.CharField()  # a partial of a method, as get_<field>_display is
    counter = serializers.IntegerField()  # a callable object: taken as it is
    greet = serializers.CharField()  # a method with a required argument: not called


class _Counter:
    def __call__(self, step):
        return step

    def __int__(self):
        return 3


class _Thing:
    plain = "a"
    nothing = None
    counter = _Counter()

    def __init__(self):
        self.inner = type("Inner", (), {"value": "deep"})()

    def shout(self):
        return "A!"

    def _labelled(self, *, field):
        return f"{field}!"

    label = partialmethod(_labelled, field="plain")

    def greet(self, name):
        return f"Hello {name}"

    def items(self):  # for the `source="*"` field
        return [("plain", self.plain)]

    def __getitem__(self, key):
        return getattr(self, key)

    def __iter__(self):
        return iter(["plain"])


def test_the_plan_falls_back_to_drf_for_what_it_cannot_settle():
    thing = _Thing()
    serializer = _Shapes()

    planned = serializer.to_representation(thing)
    assert planned == _drf(_Shapes(), thing)
    assert planned["shout"] == planned["loud"] == "A!"
    assert planned["defaulted"] == "fallback"
    assert "optional" not in planned
    assert planned["nothing"] is None
    assert planned["nested"] == "deep"
    assert planned["label"] == "plain!"
    assert planned["counter"] == 3
    assert planned["greet"].startswith("<bound method _Thing.greet")
    as_dict = {"plain": "b", "shout": "B", "nothing": None, "inner": {"value": "d"}}
    as_dict |= {"label": "L", "counter": 4, "greet": "hi"}
    assert serializer.to_representation(as_dict) == _drf(_Shapes(), as_dict)


def test_a_callable_s_signature_is_inspected_once(monkeypatch):
    inspected = []

    def counted(attribute):
        inspected.append(attribute)
        return is_simple_callable(attribute)

    monkeypatch.setattr(core.api.serializers, "_SIMPLE_CALLABLES", {})
    monkeypatch.setattr(core.api.serializers, "is_simple_callable", counted)
    serializer = _Shapes()

    thing = _Thing()
    first = serializer.to_representation(thing)
    assert serializer.to_representation(thing) == first == _drf(_Shapes(), thing)
    # shout (read twice: shout, loud), label and greet: one inspection each
    assert len(inspected) == 3


def test_a_missing_required_attribute_fails_as_in_drf():
    class Required(CachedFieldsSerializer):
        absent = serializers.CharField()

    with pytest.raises(AttributeError) as planned:
        Required().to_representation(object())
    with pytest.raises(AttributeError) as drf:
        _drf(Required(), object())
    assert str(planned.value) == str(drf.value)
