import factory

from config_items.models import CIClass, ConfigurationItem, Relationship, RelationshipType


def ci_class(code: str) -> CIClass:
    """A standard class created by the data migration."""
    return CIClass.objects.get(code=code)


def rel_type(code: str) -> RelationshipType:
    return RelationshipType.objects.get(code=code)


class ConfigurationItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ConfigurationItem

    name = factory.Sequence(lambda n: f"ci-{n:05d}")
    ci_class = factory.LazyFunction(lambda: ci_class("application"))
    attributes = factory.LazyFunction(dict)


class RelationshipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Relationship

    source = factory.SubFactory(ConfigurationItemFactory)
    target = factory.SubFactory(ConfigurationItemFactory)
    type = factory.LazyFunction(lambda: rel_type("depends_on"))
