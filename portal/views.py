"""The customer self-service portal (ISO/IEC 20000-1 8.6.1, 8.6.2: how customers reach us)."""

from django.views.generic import TemplateView

from core.permissions import PortalRequiredMixin
from core.views import HtmxPartialMixin


class PortalHomeView(PortalRequiredMixin, TemplateView):
    """Welcome page with the few things a customer comes for."""

    template_name = "portal/home.html"


class MyTicketsView(PortalRequiredMixin, TemplateView):
    """The customer's own tickets; empty until incident and request management land."""

    template_name = "portal/my_tickets.html"


class RaiseTicketView(PortalRequiredMixin, TemplateView):
    """Where a customer will report a problem or ask for something."""

    template_name = "portal/raise_ticket.html"


class KnowledgeSearchView(PortalRequiredMixin, HtmxPartialMixin, TemplateView):
    """Self-help search of published knowledge articles; results refresh as one types."""

    template_name = "portal/knowledge.html"
    partial_template_name = "portal/partials/knowledge_results.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["query"] = self.request.GET.get("q", "").strip()[:200]
        return context
