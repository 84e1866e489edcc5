"""core.api.serializers.CachedFieldsModelSerializer: fields built once per class, never
shared between instances."""

from incidents.api.serializers import IncidentSerializer, UserRefSerializer


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
