"""Cross-app factories: organisations, users of each role, support groups."""

import factory
from django.contrib.auth.models import Group

from accounts.choices import Role
from accounts.models import Organisation, SupportGroup, User

DEFAULT_PASSWORD = "correct-horse-battery-staple"


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation
        django_get_or_create = ("code",)

    name = factory.Sequence(lambda n: f"Organisation {n}")
    code = factory.Sequence(lambda n: f"org-{n}")
    email = factory.LazyAttribute(lambda o: f"it@{o.code}.example.com")


class UserFactory(factory.django.DjangoModelFactory):
    """A user; pass roles=[...] to put them in role groups (apply_roles must have run)."""

    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.PostGenerationMethodCall("set_password", DEFAULT_PASSWORD)

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        self.save()
        if create and extracted:
            self.groups.set(Group.objects.filter(name__in=extracted))
            if Role.ADMINISTRATOR in extracted and not self.is_staff:
                self.is_staff = True
                self.save(update_fields=["is_staff"])


class SupportGroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SupportGroup
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Support group {n}")
