import pytest

from accounts.selectors import support_group_member_choices
from tests.factories import SupportGroupFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_group_member_choices_are_the_active_members_by_name():
    group = SupportGroupFactory()
    zoe = UserFactory(username="zoe", first_name="Zoe", last_name="Adams")
    anna = UserFactory(username="anna", first_name="Anna", last_name="Young")
    bare = UserFactory(username="ops-bot", first_name="", last_name="")
    gone = UserFactory(username="gone", first_name="Gone", last_name="Away", is_active=False)
    UserFactory(username="outsider", first_name="Out", last_name="Sider")
    group.members.add(zoe, anna, bare, gone)

    choices = support_group_member_choices(group_id=group.pk)

    assert choices == [(bare.pk, "ops-bot"), (anna.pk, "Anna Young"), (zoe.pk, "Zoe Adams")]
    assert [name for _pk, name in choices] == [str(bare), str(anna), str(zoe)]
    assert support_group_member_choices(group_id=None) == []
