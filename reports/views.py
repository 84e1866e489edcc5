"""Manager dashboards (ISO/IEC 20000-1 9.1: monitoring, measurement, analysis)."""

import datetime

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.generic import TemplateView

from core.permissions import DashboardRequiredMixin

WEEKS_SHOWN = 8


def _week_starts(*, today: datetime.date, weeks: int) -> list[datetime.date]:
    """Mondays of the last `weeks` weeks, oldest first, ending with this week's."""
    this_monday = today - datetime.timedelta(days=today.weekday())
    return [this_monday - datetime.timedelta(weeks=n) for n in range(weeks - 1, -1, -1)]


class DashboardView(DashboardRequiredMixin, TemplateView):
    """The service manager's overview: headline KPIs and the weekly ticket volume.

    The figures are placeholders until incident and request management record tickets;
    the chart reads its data from a json_script block, so the page needs no inline script.
    """

    template_name = "reports/dashboard.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        weeks = _week_starts(today=timezone.localdate(), weeks=WEEKS_SHOWN)
        # Values stay None until the process apps record tickets; the cards then show "—".
        context["kpis"] = [
            {"label": _("SLA attainment"), "icon": "bullseye", "value": None, "unit": "%"},
            {"label": _("Open backlog"), "icon": "stack", "value": None, "unit": ""},
            {
                "label": _("Mean time to resolve"),
                "icon": "hourglass-split",
                "value": None,
                "unit": "",
            },
            {"label": _("Customer satisfaction"), "icon": "emoji-smile", "value": None, "unit": ""},
        ]
        context["volume_chart"] = {
            "labels": [date_format(week, "M j") for week in weeks],
            "datasets": [
                {"key": "opened", "label": _("Opened"), "data": [0] * len(weeks)},
                {"key": "resolved", "label": _("Resolved"), "data": [0] * len(weeks)},
            ],
        }
        return context
