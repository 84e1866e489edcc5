from django.apps import AppConfig


class TicketDemoConfig(AppConfig):
    """A concrete ticket type installed only in tests, to exercise the shared core."""

    name = "tests.ticketdemo"
    label = "ticketdemo"
