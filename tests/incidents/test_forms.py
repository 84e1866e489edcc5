"""incidents/forms.py: what the agent forms offer."""

from incidents.forms import MajorDeclareForm
from tests.factories import UserFactory


def test_people_are_offered_by_their_display_name(roles):
    named = UserFactory(roles=["agent"], first_name="Mei", last_name="Chen")
    unnamed = UserFactory(roles=["agent"], first_name="", last_name="")

    labels = {str(value): label for value, label in MajorDeclareForm().fields["manager"].choices}

    assert labels[str(named.pk)] == "Mei Chen"
    assert labels[str(unnamed.pk)] == unnamed.username
