import factory

from tests.factories import UserFactory
from tests.ticketdemo.models import DemoTicket


class DemoTicketFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DemoTicket

    number = factory.Sequence(lambda n: f"DEM{n:07d}")
    title = factory.Sequence(lambda n: f"Printer on floor {n} jams")
    created_by = factory.SubFactory(UserFactory)
