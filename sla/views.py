"""Pages of service level management: the SLA dashboard and reports, service outages."""

import csv
import datetime as dt
from urllib.parse import urlencode

from django import forms
from django.apps import apps
from django.contrib import messages
from django.contrib.contenttypes.models import ContentType
from django.core.paginator import Paginator
from django.forms.utils import flatatt
from django.http import Http404, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.safestring import mark_safe
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.generic import TemplateView

from accounts.choices import Language
from accounts.models import Organisation, SupportGroup
from config_items.models import ConfigurationItem
from config_items.selectors import ci_list
from core.choices import Priority
from core.exceptions import DomainError
from core.options import option_tags
from core.permissions import WORKSPACE_PERMISSION, PermissionRequiredMixin
from incidents.selectors import incident_list

from . import selectors
from .availability import (
    outage_end,
    outage_record,
    service_agreements,
    service_availability_months,
    service_outage_get,
    service_outage_list,
)
from .calendars import SOURCE_CHINESE_CALENDAR, SOURCE_HOLIDAYS, holidays_provisional_years
from .choices import (
    AgreementKind,
    AgreementStatus,
    CalendarDayKind,
    EscalationActionKind,
    Metric,
    PauseReason,
    Weekday,
)
from .models import Agreement, BusinessCalendar, ServiceOutage
from .reports import report_texts, service_level_report_pdf

SLA_VIEW_PERMISSION = "sla.view_agreement"
# The default period; beat keeps that view warm (selectors.dashboard_cache_warm).
DASHBOARD_MONTHS = selectors.DASHBOARD_MONTHS
MAX_PERIOD_MONTHS = 60
BREACHES_PAGE_SIZE = 50
EXPORT_TABLES = ("service", "organisation", "priority", "group", "month", "breaches")
# Dashboard tables that can run to hundreds of rows (200 organisations, 50 groups) show
# their worst rows first and only DASHBOARD_TABLE_ROWS of them, with a link to all; the
# priority and month tables stay whole, in their natural order.
RANKED_TABLES = ("service", "organisation", "group")
DASHBOARD_TABLE_ROWS = 15
REPORT_MONTHS = 12
# Spreadsheets run a cell starting with one of these as a formula (CSV injection).
CSV_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


class SlaPermissionMixin(PermissionRequiredMixin):
    """Staff of the workspace who may read service level agreements; customers get 403
    (the figures span every organisation)."""

    permission_required = (WORKSPACE_PERMISSION, SLA_VIEW_PERMISSION)
    redirect_customers = False


def _months_back(month: dt.date, count: int) -> dt.date:
    """The first day of the month `count` months before `month`'s."""
    index = month.year * 12 + month.month - 1 - count
    return dt.date(index // 12, index % 12 + 1, 1)


class MonthField(forms.DateField):
    """A month as YYYY-MM (an <input type="month">), cleaned to its first day."""

    widget = forms.DateInput(attrs={"type": "month"}, format="%Y-%m")
    input_formats = ["%Y-%m"]


class OptionsSelect(forms.Select):
    """A <select> whose options are written in Python instead of one template render per
    option: with 200 organisations and 50 groups the filter form took 130 ms of the
    dashboard's 265 ms (warm cache), more than everything else on the page."""

    def render(self, name, value, attrs=None, renderer=None):
        chosen = set(self.format_value(value))
        final_attrs = {**self.build_attrs(self.attrs, attrs), "name": name}
        options = option_tags(self.choices, chosen)
        # Every value and label is escaped by core.options, the attributes by flatatt.
        return mark_safe(f"<select{flatatt(final_attrs)}>{options}</select>")  # noqa: S308


class AttainmentFilterForm(forms.Form):
    """The dashboard's filters; every field optional, the period defaults to the last
    twelve months."""

    date_from = MonthField(label=gettext_lazy("From"), required=False)
    date_to = MonthField(label=gettext_lazy("To"), required=False)
    kind = forms.ChoiceField(
        label=gettext_lazy("Agreement kind"),
        required=False,
        choices=[("", gettext_lazy("All kinds")), *AgreementKind.choices],
    )
    metric = forms.ChoiceField(
        label=gettext_lazy("Metric"),
        required=False,
        choices=[
            ("", gettext_lazy("All metrics")),
            (Metric.RESPONSE, Metric.RESPONSE.label),
            (Metric.RESOLUTION, Metric.RESOLUTION.label),
        ],
    )
    service = forms.ModelChoiceField(
        label=gettext_lazy("Service"),
        required=False,
        queryset=ConfigurationItem.objects.none(),
        empty_label=gettext_lazy("All services"),
        widget=OptionsSelect,
    )
    organisation = forms.ModelChoiceField(
        label=gettext_lazy("Organisation"),
        required=False,
        queryset=Organisation.objects.none(),
        empty_label=gettext_lazy("All organisations"),
        widget=OptionsSelect,
    )
    priority = forms.TypedChoiceField(
        label=gettext_lazy("Priority"),
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", gettext_lazy("All priorities")), *Priority.choices],
    )
    group = forms.ModelChoiceField(
        label=gettext_lazy("Support group"),
        required=False,
        queryset=SupportGroup.objects.none(),
        empty_label=gettext_lazy("All groups"),
        widget=OptionsSelect,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["service"].queryset = (
            ConfigurationItem.objects.exclude(ci_class__service_kind="")
            .only("pk", "name")
            .order_by("name")
        )
        self.fields["organisation"].queryset = Organisation.objects.only("pk", "name")
        self.fields["group"].queryset = SupportGroup.objects.only("pk", "name").order_by("name")
        for field in self.fields.values():
            css = "form-select" if isinstance(field.widget, forms.Select) else "form-control"
            field.widget.attrs["class"] = f"{css} {css}-sm"

    def clean(self):
        cleaned = super().clean()
        this_month = timezone.localdate().replace(day=1)
        date_to = cleaned.get("date_to") or this_month
        date_from = cleaned.get("date_from") or _months_back(date_to, DASHBOARD_MONTHS - 1)
        if date_from > date_to:
            self.add_error("date_from", _("The period must start before it ends."))
        elif _months_back(date_to, MAX_PERIOD_MONTHS - 1) > date_from:
            self.add_error(
                "date_from",
                _("Choose at most %(months)d months.") % {"months": MAX_PERIOD_MONTHS},
            )
        cleaned["date_from"], cleaned["date_to"] = date_from, date_to
        return cleaned

    def selector_filters(self) -> dict:
        """The keyword arguments of the attainment selectors (call after is_valid)."""
        data = self.cleaned_data
        return {
            "date_from": data["date_from"],
            "date_to": data["date_to"],
            "kind": data.get("kind") or None,
            "metric": data.get("metric") or None,
            "service": data["service"].pk if data.get("service") else None,
            "organisation": data["organisation"].pk if data.get("organisation") else None,
            "priority": data.get("priority"),
            "support_group": data["group"].pk if data.get("group") else None,
        }

    def query_values(self) -> dict[str, str]:
        """The valid, non-empty filters as query-string values."""
        data, values = self.cleaned_data, {}
        for name in self.fields:
            value = data.get(name)
            if value in (None, ""):
                continue
            if isinstance(value, dt.date):
                values[name] = f"{value:%Y-%m}"
            elif hasattr(value, "pk"):
                values[name] = str(value.pk)
            else:
                values[name] = str(value)
        return values


def _filter_form(request) -> tuple[AttainmentFilterForm, dict]:
    """The bound filter form and the selector filters; invalid input falls back to the
    defaults (the form shows its errors)."""
    data = request.GET.copy()
    form = AttainmentFilterForm(data)
    if form.is_valid():
        filters = form.selector_filters()
    else:
        fallback = AttainmentFilterForm({})
        fallback.is_valid()
        form.cleaned_data = fallback.cleaned_data
        filters = fallback.selector_filters()
    # The form shows the period in force, also when it is the default one.
    for name in ("date_from", "date_to"):
        if not data.get(name) or name not in form.errors:
            data[name] = f"{filters[name]:%Y-%m}"
    return form, filters


# Dashboard table -> the filter a click on one of its rows sets.
DRILL_PARAMS = {
    "service": "service",
    "organisation": "organisation",
    "priority": "priority",
    "group": "group",
}


def percent_class(percent) -> str:
    """The badge colour of an attainment percentage (the dashboard's tables have hundreds
    of rows: computed here rather than by an included template per row)."""
    if percent is None:
        return ""
    if percent >= 95:
        return "text-bg-success"
    return "text-bg-warning" if percent >= 80 else "text-bg-danger"


def _drill_url(base: dict, table: str, key) -> str:
    """The dashboard filtered by one row of a table (a month row narrows the period)."""
    if key is None:
        return ""
    query = dict(base)
    if table == "month":
        query["date_from"] = query["date_to"] = key
    else:
        query[DRILL_PARAMS[table]] = str(key)
    return reverse("sla:dashboard") + "?" + urlencode(query) + "#breaches"


def _worst_first(rows: list[dict]) -> list[dict]:
    """Lowest attainment first, then the most breaches; rows with nothing measured last."""
    return sorted(
        rows,
        key=lambda row: (row["percent"] is None, row["percent"] or 0, -row["breached"]),
    )


TABLE_TITLES = {
    "service": (gettext_lazy("By service"), gettext_lazy("Service")),
    "organisation": (gettext_lazy("By organisation"), gettext_lazy("Organisation")),
    "priority": (gettext_lazy("By priority"), gettext_lazy("Priority")),
    "group": (gettext_lazy("By support group"), gettext_lazy("Support group")),
    "month": (gettext_lazy("By month"), gettext_lazy("Month")),
}


def _attainment_table(name: str, rows: list[dict], query: dict, *, limit: int | None) -> dict:
    """One dashboard table for the template: rows with their drill-down link and badge,
    the worst first and at most `limit` of them for a ranked table (None: all)."""
    ranked = name in RANKED_TABLES
    if ranked:
        rows = _worst_first(rows)
    shown = rows[:limit] if ranked and limit is not None else rows
    all_url = ""
    if len(shown) < len(rows):
        all_url = reverse("sla:attainment_table", args=[name])
        if query:
            all_url += "?" + urlencode(query)
    return {
        "name": name,
        "title": TABLE_TITLES[name][0],
        "column": TABLE_TITLES[name][1],
        "ranked": ranked,
        "rows": [
            {
                **row,
                "drill_url": _drill_url(query, name, row["key"]),
                "percent_class": percent_class(row["percent"]),
            }
            for row in shown
        ],
        "count": len(rows),
        "all_url": all_url,
        "export_url": reverse("sla:attainment_export") + "?" + urlencode({**query, "table": name}),
    }


class DashboardView(SlaPermissionMixin, TemplateView):
    """The manager's SLA dashboard (ISO/IEC 20000-1:2018 9.1): attainment per service,
    organisation, priority, support group and month from the rollups (cached a minute),
    the monthly trend, the breaches of the period with links to their records, CSV export
    of each table. A row links to the dashboard filtered by it."""

    template_name = "sla/dashboard.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        form, filters = _filter_form(self.request)
        data = selectors.attainment_dashboard(**filters)
        query = form.query_values()
        tables = [
            _attainment_table(name, data["tables"][name], query, limit=DASHBOARD_TABLE_ROWS)
            for name in selectors.DASHBOARD_GROUP_BYS
        ]
        breaches = selectors.breaches_by_ids(data["breach_ids"])
        context.update(
            form=form,
            filter_query=urlencode(query),
            tables=tables,
            totals=data["totals"],
            trend_chart={
                "labels": [str(row["label"]) for row in data["trend"]],
                "percent": [row["percent"] for row in data["trend"]],
                "met": [row["met"] for row in data["trend"]],
                "breached": [row["breached"] for row in data["trend"]],
                "percent_label": _("Attainment (%)"),
                "met_label": _("Met"),
                "breached_label": _("Breached"),
            },
            breaches=breaches[: selectors.DASHBOARD_BREACHES_SHOWN],
            more_breaches=len(breaches) > selectors.DASHBOARD_BREACHES_SHOWN,
            breach_list_url=reverse("sla:breach_list") + ("?" + urlencode(query) if query else ""),
            breach_export_url=reverse("sla:attainment_export")
            + "?"
            + urlencode({**query, "table": "breaches"}),
            active_filters=_active_filters(form),
        )
        return context


class AttainmentTableView(SlaPermissionMixin, TemplateView):
    """Every row of one dashboard table (its "show all" link), worst first, for the
    dashboard's filters: the table fragment for htmx (it replaces the short table in
    place), else a page of its own. The figures come from the dashboard's cache."""

    template_name = "sla/attainment_table.html"
    partial_template_name = "sla/partials/attainment_table.html"

    def get_template_names(self):
        htmx = getattr(self.request, "htmx", None)
        if htmx and not htmx.boosted:
            return [self.partial_template_name]
        return [self.template_name]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        name = self.kwargs["table"]
        if name not in selectors.DASHBOARD_GROUP_BYS:
            raise Http404
        form, filters = _filter_form(self.request)
        data = selectors.attainment_dashboard(**filters)
        query = form.query_values()
        context.update(
            form=form,
            table=_attainment_table(name, data["tables"][name], query, limit=None),
            dashboard_url=reverse("sla:dashboard") + ("?" + urlencode(query) if query else ""),
            active_filters=_active_filters(form),
        )
        return context


def _active_filters(form: AttainmentFilterForm) -> list[dict]:
    """Chips naming the dimension filters in force, each with a link that removes it."""
    query = form.query_values()
    chips = []
    for name in ("kind", "metric", "service", "organisation", "priority", "group"):
        if name not in query:
            continue
        field = form[name].field
        value = form.cleaned_data.get(name)
        text = str(value) if hasattr(value, "pk") else str(dict(field.choices).get(value, value))
        rest = {key: item for key, item in query.items() if key != name}
        chips.append({"label": field.label, "value": text, "remove_url": "?" + urlencode(rest)})
    return chips


class BreachListView(SlaPermissionMixin, TemplateView):
    """Every breach of the period and filters, paginated, with links to the records."""

    template_name = "sla/breach_list.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        form, filters = _filter_form(self.request)
        paginator = Paginator(selectors.breach_list(**filters), BREACHES_PAGE_SIZE)
        page = paginator.get_page(self.request.GET.get("page"))
        page.object_list = selectors.breach_records_attach(page.object_list)
        query = form.query_values()
        context.update(
            form=form,
            page=page,
            filter_query=urlencode(query),
            dashboard_url=reverse("sla:dashboard") + ("?" + urlencode(query) if query else ""),
            export_url=reverse("sla:attainment_export")
            + "?"
            + urlencode({**query, "table": "breaches"}),
        )
        return context


def csv_safe(value) -> str:
    """A cell value a spreadsheet shows as text: a leading = + - @ (or tab, CR) gets a
    quote, so a service named "=HYPERLINK(...)" is not run as a formula."""
    text = "" if value is None else str(value)
    if text.startswith(CSV_FORMULA_PREFIXES):
        return "'" + text
    return text


class _Echo:
    def write(self, value: str) -> str:
        return value


class AttainmentExportView(SlaPermissionMixin, View):
    """One dashboard table (or the breaches) of the current filters as CSV."""

    def get(self, request):
        table = request.GET.get("table", "service")
        if table not in EXPORT_TABLES:
            raise Http404
        _form, filters = _filter_form(request)
        writer = csv.writer(_Echo())
        name = f"sla-{table}-{filters['date_from']:%Y-%m}-{filters['date_to']:%Y-%m}.csv"
        if table == "breaches":
            rows = self._breach_rows(filters)
        else:
            rows = self._attainment_rows(table, filters)
        response = StreamingHttpResponse(
            (writer.writerow([csv_safe(cell) for cell in row]) for row in rows),
            content_type="text/csv; charset=utf-8",
        )
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response

    def _attainment_rows(self, table: str, filters: dict):
        yield [table, _("Met"), _("Breached"), _("Total"), _("Attainment (%)")]
        for row in selectors.attainment(group_by=table, **filters):
            percent = "" if row["percent"] is None else f"{row['percent']:.1f}"
            yield [row["label"], row["met"], row["breached"], row["total"], percent]

    def _breach_rows(self, filters: dict):
        yield [
            _("Record"),
            _("Title"),
            _("Agreement"),
            _("Target"),
            _("Metric"),
            _("Service"),
            _("Organisation"),
            _("Support group"),
            _("Priority"),
            _("Breached at"),
            _("State"),
        ]
        clocks = selectors.breach_list(**filters)
        batch_size = 500
        for offset in range(0, selectors.BREACH_EXPORT_LIMIT, batch_size):
            batch = selectors.breach_records_attach(clocks[offset : offset + batch_size])
            for clock in batch:
                record = clock.record
                yield [
                    getattr(record, "number", "") or clock.object_id,
                    getattr(record, "title", ""),
                    clock.target.agreement.name,
                    clock.target.name,
                    clock.get_metric_display(),
                    clock.service or "",
                    clock.organisation or "",
                    clock.support_group or "",
                    clock.priority or "",
                    timezone.localtime(clock.breach_moment).isoformat()
                    if clock.breach_moment
                    else "",
                    clock.get_state_display(),
                ]
            if len(batch) < batch_size:
                return


def _report_language(request) -> str:
    """The report's language: ?language= (the recipient's) or the reader's own."""
    wanted = request.GET.get("language", "")
    if wanted in Language.values:
        return wanted
    return translation.get_language()


class ReportChooserView(SlaPermissionMixin, TemplateView):
    """Organisations x the last twelve months, each a link to its service-level report."""

    template_name = "sla/report_list.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        this_month = timezone.localdate().replace(day=1)
        months = [_months_back(this_month, n) for n in range(REPORT_MONTHS)]
        context.update(
            months=[
                {"key": f"{month:%Y-%m}", "label": selectors.month_label(month)} for month in months
            ],
            organisations=Organisation.objects.filter(is_active=True).only("pk", "name"),
            languages=Language.choices,
        )
        return context


class ReportMixin(SlaPermissionMixin):
    def report_data(self) -> dict:
        organisation = get_object_or_404(Organisation, pk=self.kwargs["org_pk"])
        return selectors.service_level_report(organisation=organisation, month=self.kwargs["month"])


class ReportView(ReportMixin, TemplateView):
    """The monthly service-level report of one organisation, printable, in the
    recipient's language."""

    template_name = "sla/report.html"

    def get(self, request, *args, **kwargs):
        language = _report_language(request)
        with translation.override(language):
            context = self.get_context_data(**kwargs)
            context["report_language"] = language
            response = self.render_to_response(context)
            response.render()
        return response

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        report = report_texts(self.report_data())
        month = report["month"]
        language = _report_language(self.request)
        args = [report["organisation"].pk, f"{month:%Y-%m}"]
        context.update(
            report=report,
            pdf_url=reverse("sla:report_pdf", args=args) + "?" + urlencode({"language": language}),
            previous_url=reverse(
                "sla:report_detail",
                args=[report["organisation"].pk, f"{_months_back(month, 1):%Y-%m}"],
            )
            + "?"
            + urlencode({"language": language}),
            languages=Language.choices,
        )
        return context


class ReportPdfView(ReportMixin, View):
    """The same report as a PDF attachment (Chinese through the STSong-Light CID font)."""

    def get(self, request, *args, **kwargs):
        language = _report_language(request)
        with translation.override(language):
            report = self.report_data()
            content = service_level_report_pdf(report)
        organisation = report["organisation"]
        name = f"service-level-report-{organisation.pk}-{report['month']:%Y-%m}.pdf"
        response = HttpResponse(content, content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response


# Service outages and availability

OUTAGES_PAGE_SIZE = 10
# What an <input type="datetime-local"> sends and shows.
LOCAL_INPUT_FORMAT = "%Y-%m-%dT%H:%M"


class ServiceOutageForm(forms.Form):
    """Record an outage of a service: times in the user's time zone, an optional end
    (none: still going on) and an optional incident by its number."""

    started_at = forms.DateTimeField(
        label=gettext_lazy("Start"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=LOCAL_INPUT_FORMAT),
    )
    ended_at = forms.DateTimeField(
        label=gettext_lazy("End"),
        required=False,
        help_text=gettext_lazy("Leave empty while the outage is still going on."),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=LOCAL_INPUT_FORMAT),
    )
    is_planned = forms.TypedChoiceField(
        label=gettext_lazy("Planned maintenance"),
        choices=(
            ("no", gettext_lazy("No: unplanned outage")),
            ("yes", gettext_lazy("Yes: agreed maintenance window")),
        ),
        coerce=lambda value: value == "yes",
        initial="no",
        widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
    )
    incident = forms.CharField(
        label=gettext_lazy("Incident"),
        required=False,
        max_length=20,
        help_text=gettext_lazy("Number of the incident this outage belongs to, e.g. INC0001234."),
    )
    description = forms.CharField(
        label=gettext_lazy("Description"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_incident(self):
        number = self.cleaned_data["incident"].strip()
        if not number:
            return None
        incident = incident_list(user=self.user).filter(number__iexact=number).first()
        if incident is None:
            raise forms.ValidationError(
                _("No incident %(number)s was found."), params={"number": number}
            )
        return incident


class ServiceOutageEndForm(forms.Form):
    ended_at = forms.DateTimeField(
        label=gettext_lazy("Ended at"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=LOCAL_INPUT_FORMAT),
    )


class ServiceSLAPermissionMixin(PermissionRequiredMixin):
    """Service fragments of the CI page belong to the agent workspace; `sla_permissions`
    adds the SLA model permission the fragment or action needs."""

    sla_permissions: tuple[str, ...] = ()

    def get_permission_required(self):
        return (WORKSPACE_PERMISSION, "config_items.view_configurationitem", *self.sla_permissions)


def _get_service(user, pk: int) -> ConfigurationItem:
    """A service CI the user may see; 404 for any other CI."""
    try:
        service = ci_list(user=user).get(pk=pk)
    except ConfigurationItem.DoesNotExist:
        raise Http404 from None
    if not service.ci_class.is_service:
        raise Http404
    return service


def _duration_text(delta: dt.timedelta, *, in_days: bool = True) -> str:
    """A short human duration, truncated to two units: 2 d 3 h, 1 h 5 min, 43 min 12 s;
    with in_days=False hours never roll over into days (45 h)."""
    seconds = int(delta.total_seconds())
    days, rest = divmod(seconds, 86_400) if in_days else (0, seconds)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [
        (days, _("%(n)s d")),
        (hours, _("%(n)s h")),
        (minutes, _("%(n)s min")),
        (secs, _("%(n)s s")),
    ]
    # The largest unit and the next one (when not zero): 1 h 5 min, 1 h, 2 d 3 h.
    first = next((i for i, (n, _text) in enumerate(parts) if n), len(parts) - 1)
    shown = [text % {"n": n} for n, text in parts[first : first + 2] if n]
    return " ".join(shown) or _("%(n)s s") % {"n": 0}


def _outages_context(request, service: ConfigurationItem) -> dict:
    page = Paginator(service_outage_list(service=service), OUTAGES_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    now = timezone.now()
    rows = [
        {
            "outage": outage,
            "duration": _duration_text((outage.ended_at or now) - outage.started_at),
        }
        for outage in page.object_list
    ]
    return {
        "service": service,
        "page": page,
        "rows": rows,
        "now_input": timezone.localtime(now).strftime(LOCAL_INPUT_FORMAT),
    }


def _outages_response(request, service: ConfigurationItem, *, changed: bool, error: str = ""):
    if not request.htmx:
        return HttpResponseRedirect(service.get_absolute_url() + "#outages")
    context = {**_outages_context(request, service), "error": error}
    response = TemplateResponse(request, "sla/partials/service_outages.html", context)
    if changed:
        # The agreements card listens and measures availability again.
        response["HX-Trigger"] = "outagesChanged"
    return response


class ServiceAgreementsView(ServiceSLAPermissionMixin, TemplateView):
    """Fragment for a service's CI page: the active agreements covering the service with
    their targets, and availability against its target this month and last month."""

    template_name = "sla/partials/service_agreements.html"
    sla_permissions = ("sla.view_agreement",)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        service = _get_service(self.request.user, self.kwargs["service_pk"])
        today = timezone.localdate(timezone=timezone.get_default_timezone())
        months = service_availability_months(service=service)
        for month in months:
            month["downtime_text"] = _duration_text(month["downtime"])
            month["planned_text"] = _duration_text(month["planned_downtime"])
        agreements = list(service_agreements(service=service, on=today))
        for agreement in agreements:
            for target in agreement.applicable_targets:
                target.duration_text = (
                    _business_duration_text(target.duration) if target.duration else ""
                )
        context.update(
            service=service,
            agreements=agreements,
            months=months,
        )
        return context


class ServiceOutagesView(ServiceSLAPermissionMixin, View):
    """Fragment for a service's CI page: its outages, most recent first, ten a page."""

    sla_permissions = ("sla.view_serviceoutage",)

    def get(self, request, service_pk: int):
        service = _get_service(request.user, service_pk)
        return TemplateResponse(
            request, "sla/partials/service_outages.html", _outages_context(request, service)
        )


class ServiceOutageCreateView(ServiceSLAPermissionMixin, View):
    """GET: the form to record an outage (in place of the outage list); POST: record it."""

    sla_permissions = ("sla.view_serviceoutage", "sla.add_serviceoutage")

    def render_form(self, request, service, form):
        return TemplateResponse(request, "sla/outage_form.html", {"service": service, "form": form})

    def get(self, request, service_pk: int):
        service = _get_service(request.user, service_pk)
        initial = {"started_at": timezone.localtime().replace(second=0, microsecond=0)}
        return self.render_form(
            request, service, ServiceOutageForm(user=request.user, initial=initial)
        )

    def post(self, request, service_pk: int):
        service = _get_service(request.user, service_pk)
        form = ServiceOutageForm(request.POST, user=request.user)
        if form.is_valid():
            try:
                outage_record(actor=request.user, service=service, **form.cleaned_data)
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                if not request.htmx:
                    messages.success(request, _("The outage was recorded."))
                return _outages_response(request, service, changed=True)
        if not request.htmx:
            for errors in form.errors.values():
                messages.error(request, " ".join(errors))
            return HttpResponseRedirect(service.get_absolute_url() + "#outages")
        return self.render_form(request, service, form)


class ServiceOutageEndView(ServiceSLAPermissionMixin, View):
    """POST: end an ongoing outage, now or at the moment given."""

    http_method_names = ["post"]
    sla_permissions = ("sla.view_serviceoutage", "sla.change_serviceoutage")

    def post(self, request, pk: int):
        try:
            outage = service_outage_get(pk=pk)
        except ServiceOutage.DoesNotExist:
            raise Http404 from None
        service = _get_service(request.user, outage.service_id)
        form = ServiceOutageEndForm(request.POST)
        if not form.is_valid():
            error = " ".join(form.errors["ended_at"])
            if not request.htmx:
                messages.error(request, error)
            return _outages_response(request, service, changed=False, error=error)
        ended_at = form.cleaned_data["ended_at"] or timezone.now()
        try:
            outage_end(actor=request.user, outage=outage, ended_at=ended_at)
        except DomainError as exc:
            if not request.htmx:
                messages.error(request, exc.message)
            return _outages_response(request, service, changed=False, error=str(exc.message))
        if not request.htmx:
            messages.success(request, _("The outage was ended."))
        return _outages_response(request, service, changed=True)


# SLA clocks of a record


class RecordClocksView(PermissionRequiredMixin, TemplateView):
    """Fragment for a record's page (loaded by HTMX, so process apps need no import of
    sla views): a bar per SLA clock, the calendar, why the target applies, the history."""

    template_name = "sla/partials/record_clocks.html"

    def get_permission_required(self):
        return (WORKSPACE_PERMISSION, "sla.view_clock")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        try:
            content_type = ContentType.objects.get_by_natural_key(
                *self.kwargs["record_type"].split(".", 1)
            )
        except (ContentType.DoesNotExist, TypeError, ValueError):
            raise Http404 from None
        model = content_type.model_class()
        if model is None or not hasattr(model, "sla_facts"):
            raise Http404
        record = model.objects.visible_to(self.request.user).filter(pk=self.kwargs["pk"]).first()
        if record is None:
            raise Http404
        rows = selectors.record_clocks(record=record)
        for row in rows:
            row["elapsed_text"] = _business_duration_text(row["elapsed"])
            row["remaining_text"] = _business_duration_text(max(row["remaining"], dt.timedelta(0)))
            row["overdue_text"] = _business_duration_text(row["overdue"]) if row["overdue"] else ""
            row["target_text"] = _business_duration_text(row["clock"].target_duration)
        context.update(record=record, rows=rows)
        return context


# Agreements and calendars (read-only browse pages)

# Shown for sla.calendars' import sources.
DAY_SOURCE_LABELS = {
    SOURCE_HOLIDAYS: gettext_lazy("holidays library"),
    SOURCE_CHINESE_CALENDAR: gettext_lazy("chinese-calendar package"),
}
BREACH_PERCENT = 100


class AgreementBrowseMixin(PermissionRequiredMixin):
    """Workspace staff who may read agreements; customers are sent to the portal."""

    permission_required = (WORKSPACE_PERMISSION, "sla.view_agreement")


class CalendarBrowseMixin(PermissionRequiredMixin):
    """Workspace staff who may read business calendars; customers are sent to the portal."""

    permission_required = (WORKSPACE_PERMISSION, "sla.view_businesscalendar")


def _admin_url(user, model: str, pk: int | None = None) -> str:
    """The admin page that edits a row (adds one without `pk`), or "" for a user who may
    not: definitions are edited in the Django admin, which needs admin-site access."""
    action = "change" if pk else "add"
    if not (user.is_staff and user.has_perm(f"sla.{action}_{model}")):
        return ""
    return reverse(f"admin:sla_{model}_{action}", args=[pk] if pk else None)


def _business_duration_text(delta: dt.timedelta) -> str:
    """Business time in hours and minutes (never days: a business day is not 24 hours):
    27 h, 1 h 30 min, 15 min."""
    return _duration_text(delta, in_days=False)


def _is_in_force(agreement, today: dt.date) -> bool:
    return (
        agreement.status == AgreementStatus.ACTIVE
        and agreement.valid_from <= today
        and (agreement.valid_to is None or agreement.valid_to >= today)
    )


def _record_type_label(value: str) -> str:
    try:
        model = apps.get_model(value)
    except (LookupError, ValueError):
        return value
    return capfirst(model._meta.verbose_name_plural)


def _applies_to(target) -> dict:
    """The conditions of a target: those it names with their values (`named`), and the
    labels of those it leaves empty, which match any record (`any`)."""
    priorities = dict(Priority.choices)
    conditions = [
        (_("Record type"), [_record_type_label(target.record_type)] if target.record_type else []),
        (_("Priorities"), [str(priorities.get(p, p)) for p in sorted(target.priorities)]),
        (_("Services"), [str(service) for service in target.services.all()]),
        (_("Organisations"), [str(org) for org in target.organisations.all()]),
        (_("Categories"), [str(category) for category in target.categories.all()]),
    ]
    return {
        "named": [{"label": label, "names": names} for label, names in conditions if names],
        "any": [label for label, names in conditions if not names],
    }


def _action_text(action) -> str:
    if action.action == EscalationActionKind.NOTIFY_USERS:
        names = ", ".join(str(user) for user in action.users.all())
        return _("Notify %(users)s") % {"users": names or _("nobody yet")}
    if action.action == EscalationActionKind.RAISE_PRIORITY and action.priority:
        label = dict(Priority.choices).get(action.priority, action.priority)
        return _("Raise the priority to %(priority)s") % {"priority": label}
    if action.action == EscalationActionKind.REASSIGN_GROUP and action.group:
        return _("Reassign to %(group)s") % {"group": action.group.name}
    return str(action.get_action_display())


def _escalation_steps(target) -> list[dict]:
    """Each warning threshold and the breach (100 %), with the actions fired there."""
    actions = list(target.actions.all())
    percents = sorted({*target.thresholds, BREACH_PERCENT, *(a.at_percent for a in actions)})
    return [
        {
            "percent": percent,
            "is_breach": percent == BREACH_PERCENT,
            "actions": [_action_text(a) for a in actions if a.at_percent == percent],
        }
        for percent in percents
    ]


def _target_order(target) -> tuple:
    """Active first, then by the most urgent priority named (P1 response, P1 resolution,
    P2 response...), first response before resolution, then by name."""
    metrics = list(Metric.values)
    return (
        not target.is_active,
        min(target.priorities, default=len(Priority.values) + 1),
        metrics.index(target.metric),
        target.name,
        target.pk,
    )


def _coverage(agreement) -> list[dict]:
    """What an agreement covers, as rows of the detail page: services always, customers
    for an SLA, groups for an OLA, the supplier for a contract (others when named)."""
    services = list(agreement.services.all())
    organisations = list(agreement.organisations.all())
    groups = list(agreement.support_groups.all())
    rows = [{"label": _("Services"), "links": services, "names": [], "empty": _("Every service")}]
    if agreement.kind == AgreementKind.SLA or organisations:
        rows.append({"label": _("Customers"), "names": organisations, "empty": _("Every customer")})
    if agreement.kind == AgreementKind.OLA or groups:
        rows.append({"label": _("Support groups"), "names": groups, "empty": _("Every group")})
    if agreement.kind == AgreementKind.UC or agreement.supplier:
        rows.append(
            {
                "label": _("Supplier"),
                "names": [agreement.supplier] if agreement.supplier else [],
                "empty": _("Not named"),
            }
        )
    return rows


class AgreementFilterForm(forms.Form):
    q = forms.CharField(
        label=gettext_lazy("Search agreements"),
        required=False,
        max_length=100,
        widget=forms.SearchInput,
    )
    kind = forms.ChoiceField(
        label=gettext_lazy("Kind"),
        required=False,
        choices=[("", gettext_lazy("All kinds")), *AgreementKind.choices],
    )
    status = forms.ChoiceField(
        label=gettext_lazy("Status"),
        required=False,
        choices=[("", gettext_lazy("All statuses")), *AgreementStatus.choices],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["q"].widget.attrs.update(
            {
                "class": "form-control form-control-sm",
                "placeholder": gettext_lazy("Name or reference"),
            }
        )
        for name in ("kind", "status"):
            self.fields[name].widget.attrs["class"] = "form-select form-select-sm"


class AgreementListView(AgreementBrowseMixin, TemplateView):
    """Agreements grouped by kind (SLA, OLA, underpinning contract), filterable by kind and
    status, searchable by name and reference (ISO/IEC 20000-1:2018 8.3.3)."""

    template_name = "sla/agreement_list.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        form = AgreementFilterForm(self.request.GET)
        filters = form.cleaned_data if form.is_valid() else {}
        agreements = list(
            selectors.agreement_list(
                kind=filters.get("kind") or None,
                status=filters.get("status") or None,
                query=filters.get("q", ""),
            )[: selectors.AGREEMENT_LIST_LIMIT + 1]
        )
        today = timezone.localdate()
        groups = {kind: [] for kind in AgreementKind}
        for agreement in agreements[: selectors.AGREEMENT_LIST_LIMIT]:
            agreement.is_in_force = _is_in_force(agreement, today)
            groups[agreement.kind].append(agreement)
        context.update(
            form=form,
            is_filtered=any(filters.values()),
            groups=[
                {"kind": kind, "label": kind.label, "agreements": rows}
                for kind, rows in groups.items()
                if rows
            ],
            is_capped=len(agreements) > selectors.AGREEMENT_LIST_LIMIT,
            limit=selectors.AGREEMENT_LIST_LIMIT,
            add_url=_admin_url(self.request.user, "agreement"),
        )
        return context


class AgreementDetailView(AgreementBrowseMixin, TemplateView):
    """One agreement: its period and coverage, its time targets with their conditions,
    calendars, pauses, thresholds and escalations, its availability targets, and the rule
    that picks one target when several match."""

    template_name = "sla/agreement_detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        try:
            agreement = selectors.agreement_get(pk=self.kwargs["pk"])
        except Agreement.DoesNotExist:
            raise Http404 from None
        user = self.request.user
        pause_labels = dict(PauseReason.choices)
        time_targets, availability_targets = [], []
        for target in sorted(agreement.targets.all(), key=_target_order):
            target.applies_to = _applies_to(target)
            target.edit_url = _admin_url(user, "target", target.pk)
            if target.metric == Metric.AVAILABILITY:
                availability_targets.append(target)
                continue
            target.duration_text = (
                _business_duration_text(target.duration) if target.duration else ""
            )
            target.pause_labels = [str(pause_labels.get(r, r)) for r in target.pause_on]
            target.escalation_steps = _escalation_steps(target)
            time_targets.append(target)
        agreement.is_in_force = _is_in_force(agreement, timezone.localdate())
        target_add = _admin_url(user, "target")
        context.update(
            agreement=agreement,
            coverage=_coverage(agreement),
            time_targets=time_targets,
            availability_targets=availability_targets,
            edit_url=_admin_url(user, "agreement", agreement.pk),
            add_target_url=f"{target_add}?agreement={agreement.pk}" if target_add else "",
        )
        return context


_WEEKDAY_SHORT = (
    gettext_lazy("Mon"),
    gettext_lazy("Tue"),
    gettext_lazy("Wed"),
    gettext_lazy("Thu"),
    gettext_lazy("Fri"),
    gettext_lazy("Sat"),
    gettext_lazy("Sun"),
)


def _time_text(value: dt.time) -> str:
    """A time of day as HH:MM; an interval's end of 00:00 is midnight, shown as 24:00."""
    return "24:00" if value == dt.time(0) else f"{value:%H:%M}"


def _weekly_hours(calendar) -> list[dict]:
    """Monday to Sunday, each with its working intervals as text (none: closed)."""
    by_day: dict[int, list[str]] = {day: [] for day in Weekday.values}
    for interval in calendar.intervals.all():
        by_day[interval.weekday].append(f"{_time_text(interval.start)}–{_time_text(interval.end)}")
    return [
        {"weekday": day, "label": Weekday(day).label, "intervals": intervals}
        for day, intervals in by_day.items()
    ]


def _hours_runs(calendar) -> list[str]:
    """The weekly hours as runs of days with equal hours: ["Mon–Fri 09:00–12:00,
    13:30–18:00", "Sat 10:00–14:00"]; one line for a 24x7 calendar or one without hours."""
    if calendar.is_24x7:
        return [_("24 hours, 7 days a week")]
    runs: list[list] = []
    for row in _weekly_hours(calendar):
        if not row["intervals"]:
            continue
        if runs and runs[-1][1] == row["weekday"] - 1 and runs[-1][2] == row["intervals"]:
            runs[-1][1] = row["weekday"]
        else:
            runs.append([row["weekday"], row["weekday"], row["intervals"]])
    if not runs:
        return [_("No working hours")]
    short = dict(zip(Weekday.values, _WEEKDAY_SHORT, strict=True))
    lines = []
    for first, last, intervals in runs:
        days = short[first] if first == last else f"{short[first]}–{short[last]}"
        lines.append(f"{days} {', '.join(intervals)}")
    return lines


def _hours_summary(calendar) -> str:
    """The weekly hours in one line: Mon–Fri 09:00–12:00, 13:30–18:00; Sat 10:00–14:00."""
    return "; ".join(_hours_runs(calendar))


def _chosen_year(request) -> int:
    """?year= when it is a plausible year, else this year."""
    this_year = timezone.localdate().year
    try:
        year = int(request.GET.get("year", this_year))
    except (TypeError, ValueError):
        return this_year
    return year if 1900 <= year <= 2200 else this_year


class CalendarListView(CalendarBrowseMixin, TemplateView):
    """Business calendars: time zone, weekly hours, public-holiday country, this year's
    holidays and extra working days, and how many targets count time in each."""

    template_name = "sla/calendar_list.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        year = timezone.localdate().year
        calendars = list(selectors.calendar_list(year=year))
        for calendar in calendars:
            calendar.hours_runs = _hours_runs(calendar)
        context.update(
            calendars=calendars,
            year=year,
            add_url=_admin_url(self.request.user, "businesscalendar"),
        )
        return context


class CalendarDetailView(CalendarBrowseMixin, TemplateView):
    """One business calendar: time zone, working hours per weekday, the holidays and
    extra working days of a chosen year with where they come from, and its targets."""

    template_name = "sla/calendar_detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        try:
            calendar = selectors.calendar_get(pk=self.kwargs["pk"])
        except BusinessCalendar.DoesNotExist:
            raise Http404 from None
        year = _chosen_year(self.request)
        this_year = timezone.localdate().year
        weekly = _weekly_hours(calendar)
        days = list(selectors.calendar_days(calendar=calendar, year=year))
        for day in days:
            day.source_label = DAY_SOURCE_LABELS.get(day.source, day.source)
            day.hours_text = ", ".join(weekly[day.hours_of]["intervals"])
        years = sorted({*selectors.calendar_day_years(calendar=calendar), this_year, year})
        provisional = (
            holidays_provisional_years(country=calendar.holiday_country, years=[year])
            if calendar.holiday_country
            else []
        )
        context.update(
            calendar=calendar,
            weekly=weekly,
            hours_summary=_hours_summary(calendar),
            year=year,
            this_year=this_year,
            years=years,
            days=days,
            holiday_count=sum(day.kind == CalendarDayKind.HOLIDAY for day in days),
            working_day_count=sum(day.kind == CalendarDayKind.WORKING_DAY for day in days),
            is_provisional=bool(provisional),
            targets=list(selectors.calendar_targets(calendar=calendar)),
            edit_url=_admin_url(self.request.user, "businesscalendar", calendar.pk),
        )
        return context
