from django.http import FileResponse, Http404, JsonResponse
from django.views import View
from django.views.generic import TemplateView

from .health import health_report
from .permissions import LoginRequiredMixin, WorkspaceRequiredMixin
from .selectors import attachment_get_for_download


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


class HtmxPartialMixin:
    """Serves the page, or only its `partial_template_name` to an HTMX request (STYLE.md §10).

    Boosted requests want whole pages, so they get the page.
    """

    partial_template_name: str = ""

    def get_template_names(self):
        htmx = getattr(self.request, "htmx", None)
        if htmx and not htmx.boosted and self.partial_template_name:
            return [self.partial_template_name]
        return super().get_template_names()


class HomeView(WorkspaceRequiredMixin, TemplateView):
    """The agent workspace home: the agent's starting point for the day.

    Customers who open it are sent to the portal (core.permissions); its figures fill in
    as the process apps arrive.
    """

    template_name = "core/home.html"


class SearchView(WorkspaceRequiredMixin, HtmxPartialMixin, TemplateView):
    """Global search of the top bar; a placeholder until the process apps are searchable."""

    template_name = "core/search.html"
    partial_template_name = "core/partials/search_results.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["query"] = self.request.GET.get("q", "").strip()[:200]
        return context


class AttachmentDownloadView(LoginRequiredMixin, View):
    """Download of a ticket attachment, for whoever may see the ticket and the file.

    Always served as a download (Content-Disposition: attachment) under the stored name, so
    an uploaded HTML or SVG file is never rendered in the application's origin; a file the
    user may not see answers 404, not 403, so its existence is not revealed.
    """

    http_method_names = ["get", "head"]

    def get(self, request, pk: int):
        attachment = attachment_get_for_download(pk=pk, user=request.user)
        if attachment is None:
            raise Http404
        response = FileResponse(
            attachment.file.open("rb"),
            as_attachment=True,
            filename=attachment.name,
            content_type=attachment.mime_type,
        )
        response["Cache-Control"] = "private, no-store"
        return response
