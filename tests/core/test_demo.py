import pytest
from django.contrib.auth import authenticate

from accounts.choices import Role
from accounts.models import Organisation, SupportGroup, User
from core.demo import DEMO_LOGINS, demo_data_load
from core.volume import volume_seed

pytestmark = pytest.mark.django_db


def test_demo_data_is_idempotent():
    first = demo_data_load()
    counts = (Organisation.objects.count(), SupportGroup.objects.count(), User.objects.count())

    second = demo_data_load()

    assert first == {"organisations": 3, "groups": 4, "users": 8}
    assert second == {"organisations": 0, "groups": 0, "users": 0}
    assert (Organisation.objects.count(), SupportGroup.objects.count(), User.objects.count()) == (
        counts
    )


@pytest.mark.parametrize(("role", "username", "password"), DEMO_LOGINS)
def test_every_demo_login_works_and_has_its_role(rf, role, username, password):
    demo_data_load()

    user = authenticate(rf.post("/accounts/login/"), username=username, password=password)

    assert user is not None
    assert role in user.role_names


def test_demo_customers_belong_to_an_organisation_and_agents_to_groups():
    demo_data_load()

    customers = User.objects.filter(groups__name=Role.CUSTOMER)
    agents = User.objects.filter(groups__name=Role.AGENT)

    assert customers.count() == 3
    assert not customers.filter(organisation=None).exists()
    assert all(agent.support_groups.exists() for agent in agents)
    assert User.objects.get(username="admin").is_staff


def test_volume_seed_creates_the_requested_counts(roles):
    result = volume_seed(organisations=5, users=300, groups=3)

    assert result == {"organisations": 5, "groups": 3, "users": 300}
    volume_users = User.objects.filter(username__startswith="vol")
    assert volume_users.count() == 300
    customers = volume_users.filter(groups__name=Role.CUSTOMER)
    assert not customers.filter(organisation=None).exists()
    assert customers.count() + volume_users.filter(groups__name=Role.AGENT).count() == 300
