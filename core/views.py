from django.http import JsonResponse
from django.views import View
from django.views.generic import TemplateView

from .health import health_report
from .permissions import WorkspaceRequiredMixin


class HealthView(View):
    """GET /health/: 200 when database, Redis and a Celery worker answer, else 503.

    Open to anonymous callers (load balancers, monitoring) and reveals no secrets: only
    which part failed and the exception class.
    """

    http_method_names = ["get", "head"]

    def get(self, request):
        results = health_report()
        healthy = all(r.ok for r in results.values())
        body = {
            "status": "ok" if healthy else "unavailable",
            "checks": {name: {"ok": r.ok, "detail": r.detail} for name, r in results.items()},
        }
        return JsonResponse(body, status=200 if healthy else 503)


class HomeView(WorkspaceRequiredMixin, TemplateView):
    """The agent workspace home: the agent's starting point for the day.

    Customers who open it are sent to the portal (core.permissions); its figures fill in
    as the process apps arrive.
    """

    template_name = "core/home.html"


class SearchView(WorkspaceRequiredMixin, TemplateView):
    """Global search of the top bar; a placeholder until the process apps are searchable."""

    template_name = "core/search.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["query"] = self.request.GET.get("q", "").strip()[:200]
        return context
