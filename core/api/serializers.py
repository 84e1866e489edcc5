import copy
import threading
from functools import cache, partial
from operator import attrgetter
from types import BuiltinFunctionType, FunctionType, MethodType

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import SkipField, is_simple_callable
from rest_framework.relations import PKOnlyObject
from rest_framework.utils.serializer_helpers import ReturnDict

from core.db import CompiledQuery

# Fields that hold other fields (a nested serializer, `many=True` relations, lists and
# dicts of a child field): their children are bound to them, so each copy is a new one.
_NESTING_FIELDS = (
    serializers.BaseSerializer,
    serializers.ManyRelatedField,
    serializers.ListField,
    serializers.DictField,
)


def fields_copy(templates: dict) -> dict:
    """Fields for one serializer instance from its class's unbound template fields.

    DRF deep-copies them, which re-runs every field's constructor (two thirds of an API
    create's serializer time). A plain field is copied shallowly instead: nothing in it
    differs between instances until `bind()` sets its name, parent and source, and its
    validators and choices are never changed in place. A field holding other fields is
    copied DRF's way, so its children are bound to the copy.
    """
    return {
        name: copy.deepcopy(field) if isinstance(field, _NESTING_FIELDS) else copy.copy(field)
        for name, field in templates.items()
    }


_FIELD_GET_ATTRIBUTE = serializers.Field.get_attribute
_UNREAD = object()


def _representation_plan(serializer) -> tuple:
    """(name, fetch, field) per readable field of a bound serializer. `fetch` reads a
    field's one-attribute source directly where the field does not read it its own way
    (references, method fields, URLs); None where DRF's `get_attribute` must."""
    plan = []
    for field in serializer._readable_fields:
        sources = field.source_attrs
        simple = type(field).get_attribute is _FIELD_GET_ATTRIBUTE and len(sources) == 1
        plan.append((field.field_name, attrgetter(sources[0]) if simple else None, field))
    return tuple(plan)


# DRF's `is_simple_callable` per signature key (`_signature_key`): it inspects the
# signature on every call, which depends on nothing but that key.
_SIMPLE_CALLABLES: dict = {}


def _signature_key(attribute):
    """What a callable's signature depends on: the function of a bound method; for a
    partial (Django's `get_<field>_display`), its callable's key with the number of
    positional and the names of keyword arguments it fixes. None for anything else."""
    if isinstance(attribute, MethodType):
        return attribute.__func__
    if isinstance(attribute, partial):
        inner = _signature_key(attribute.func)
        if inner is not None:
            return (inner, len(attribute.args), frozenset(attribute.keywords))
    return None


def _callable_read(attribute):
    """What DRF's `get_attribute` makes of a callable attribute, or _UNREAD where it must
    decide itself. A method or a partial of one without required arguments
    (`get_status_display`) is called; another callable object (a related manager) is
    taken as it is, as DRF takes it; plain functions, builtins and a call that fails go
    DRF's way."""
    key = _signature_key(attribute)
    if key is None:
        if isinstance(attribute, FunctionType | BuiltinFunctionType | partial):
            return _UNREAD
        return attribute
    simple = _SIMPLE_CALLABLES.get(key)
    if simple is None:
        simple = _SIMPLE_CALLABLES[key] = is_simple_callable(attribute)
    if not simple:
        return attribute
    try:
        return attribute()
    except Exception:  # noqa: BLE001 - DRF's get_attribute calls it again and decides
        return _UNREAD


class PlannedRepresentation:
    """`to_representation` as DRF's Serializer does it, with each field's attribute read
    by a plan made once per serializer instance.

    DRF reads every attribute through `fields.get_attribute`: a loop over the source's
    parts, a Mapping check and a callable check per part, and for a method (such as
    `get_status_display`) a signature inspection on every call; with the readable-field
    generator around it, a third of an incident's rendering. Here an attribute named by
    a plain field is read with `attrgetter`, and a callable it reads is called or taken as
    DRF would (`_callable_read`, its signature inspected once); whatever that cannot
    settle (a missing attribute, a row that does not exist, a function, a dict instance)
    goes through DRF's own `get_attribute`, so the result and the errors are DRF's."""

    def to_representation(self, instance):
        plan = self.__dict__.get("_representation_plan")
        if plan is None:
            plan = self._representation_plan = _representation_plan(self)
        ret = {}
        for name, fetch, field in plan:
            attribute = _UNREAD
            if fetch is not None:
                try:
                    attribute = fetch(instance)
                except Exception:  # noqa: BLE001, S110 - DRF's get_attribute decides below
                    attribute = _UNREAD
                if callable(attribute):
                    attribute = _callable_read(attribute)
            if attribute is _UNREAD:
                try:
                    attribute = field.get_attribute(instance)
                except SkipField:
                    continue
            check = attribute.pk if isinstance(attribute, PKOnlyObject) else attribute
            ret[name] = None if check is None else field.to_representation(attribute)
        return ret


class CachedFieldsSerializer(PlannedRepresentation, serializers.Serializer):
    """A Serializer whose declared fields are copied per instance by `fields_copy`."""

    def get_fields(self):
        return fields_copy(self._declared_fields)


class CachedFieldsModelSerializer(PlannedRepresentation, serializers.ModelSerializer):
    """A ModelSerializer that builds its fields from the model once per class.

    DRF rebuilds them (model introspection, one Field per column) every time a serializer
    is instantiated, a third of an API GET's Python time on the incident. For serializers
    whose fields depend only on the class (not on the request or the instance; override
    nothing that changes them), the built fields are kept on the class and each instance
    gets copies (`fields_copy`).
    """

    def get_fields(self):
        cls = type(self)
        built = cls.__dict__.get("_built_fields")
        if built is None:
            built = super().get_fields()
            cls._built_fields = built
        return fields_copy(built)

    @classmethod
    def represent(cls, instance, *, context: dict) -> ReturnDict:
        """What `cls(instance, context=context).data` gives, rendered by one instance of
        the serializer per class and thread whose fields are copied and bound once: a
        single object's answer (every write of the API ends with one) builds no fields.
        The instance keeps the last object and context until the thread's next call, for
        renderers that read the serializer after the view returned (the browsable API)."""
        renderers = _RENDERERS.__dict__
        renderer = renderers.get(cls)
        if renderer is None:
            renderer = renderers[cls] = cls(context={})
            renderer.fields  # noqa: B018 - built and bound once here
        renderer.__dict__.pop("_data", None)  # Serializer.data's cached result
        renderer.instance = instance
        renderer._context = context
        return ReturnDict(renderer.to_representation(instance), serializer=renderer)


_RENDERERS = threading.local()  # CachedFieldsModelSerializer.represent's, per thread


@cache
def _ref_renderer(serializer_class) -> serializers.Serializer:
    """One shared instance of a reference serializer, its fields built and bound."""
    renderer = serializer_class()
    renderer.fields  # noqa: B018 - built once here, read by every render
    return renderer


class RefField(serializers.Field):
    """A related object (or with `many`, a list of them), read-only, in the shape of a
    small reference serializer (id and name) that needs no context: rendered by one
    shared instance of it. A nested serializer is a field holding fields, so it is
    rebuilt for every serializer instance and builds its own fields again on each render:
    a dozen of them on an incident's answer. Use `ref()` to declare one."""

    def __init__(self, *, serializer_class, many: bool = False, **kwargs):
        kwargs["read_only"] = True
        super().__init__(**kwargs)
        self.serializer_class = serializer_class
        self.many = many

    def to_representation(self, value):
        renderer = _ref_renderer(self.serializer_class)
        if self.many:
            # A related manager gives its rows, as DRF's many-related fields read them.
            rows = value.all() if hasattr(value, "all") else value
            return [renderer.to_representation(item) for item in rows]
        return renderer.to_representation(value)


@cache
def _ref_field_class(serializer_class, many: bool) -> type[RefField]:
    # The schema shows the reference serializer's component, as for a nested one.
    return extend_schema_field(serializer_class(many=many))(
        type(f"{serializer_class.__name__}{'List' if many else ''}Field", (RefField,), {})
    )


def ref(serializer_class, *, many: bool = False, **kwargs) -> RefField:
    """A read-only reference field in the shape of `serializer_class` (see RefField)."""
    return _ref_field_class(serializer_class, many)(
        serializer_class=serializer_class, many=many, **kwargs
    )


class CompiledPrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    """A PrimaryKeyRelatedField over a fixed queryset (not one that depends on the
    request), whose lookup statement is compiled once per process (`CompiledQuery`): an
    input serializer reads each reference it is given on every write. Accepts and refuses
    what PrimaryKeyRelatedField does, with its messages."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        queryset = self.queryset
        self._lookup = CompiledQuery(lambda pk: queryset.filter(pk=pk))

    def to_internal_value(self, data):
        if self.pk_field is not None:
            return super().to_internal_value(data)
        try:
            if isinstance(data, bool):
                raise TypeError
            pk = self.queryset.model._meta.pk.get_prep_value(data)
        except (TypeError, ValueError):
            self.fail("incorrect_type", data_type=type(data).__name__)
        instance = self._lookup.first(pk)
        if instance is None:
            self.fail("does_not_exist", pk_value=data)
        return instance


class ErrorSerializer(serializers.Serializer):
    """The body of every API error (core.api.exceptions), documented once for the schema."""

    code = serializers.CharField(help_text=_("Stable machine-readable code, e.g. “invalid”."))
    detail = serializers.CharField(help_text=_("Human-readable message in the user's language."))
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text=_("Messages per input field; empty when the error is not about a field."),
    )
