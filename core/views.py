from django.http import JsonResponse
from django.views import View

from .health import health_report


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


class HomeView(View):
    """Placeholder until the workspace page lands."""

    def get(self, request):
        return JsonResponse({"status": "todo"})
