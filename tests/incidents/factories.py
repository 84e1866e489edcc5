import factory

from incidents.models import Category, Incident
from tests.factories import UserFactory


def category(name: str, parent: str | None = None) -> Category:
    """A category of the data migration."""
    if parent:
        return Category.objects.get(name=name, parent__name=parent)
    return Category.objects.get(name=name, parent=None)


class IncidentFactory(factory.django.DjangoModelFactory):
    """A bare incident row (status new); use services to move it through its lifecycle."""

    class Meta:
        model = Incident

    number = factory.Sequence(lambda n: f"INC9{n:06d}")
    title = factory.Sequence(lambda n: f"E-mail not arriving #{n}")
    caller = factory.SubFactory(UserFactory)
    organisation = factory.LazyAttribute(lambda o: o.caller.organisation)
    created_by = factory.LazyAttribute(lambda o: o.caller)
