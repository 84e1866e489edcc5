import datetime as dt

from django.urls import path, register_converter

from . import views


class MonthConverter:
    """A month in a URL as YYYY-MM, given to the view as the date of its first day."""

    regex = r"[0-9]{4}-(?:0[1-9]|1[0-2])"

    def to_python(self, value: str) -> dt.date:
        return dt.date(int(value[:4]), int(value[5:]), 1)

    def to_url(self, value) -> str:
        return value if isinstance(value, str) else f"{value:%Y-%m}"


register_converter(MonthConverter, "month")

app_name = "sla"

urlpatterns: list = [
    path("", views.DashboardView.as_view(), name="dashboard"),
    path("breaches/", views.BreachListView.as_view(), name="breach_list"),
    path("export/", views.AttainmentExportView.as_view(), name="attainment_export"),
    path("tables/<str:table>/", views.AttainmentTableView.as_view(), name="attainment_table"),
    path("reports/", views.ReportChooserView.as_view(), name="report_list"),
    path(
        "reports/<int:org_pk>/<month:month>/",
        views.ReportView.as_view(),
        name="report_detail",
    ),
    path(
        "reports/<int:org_pk>/<month:month>/pdf/",
        views.ReportPdfView.as_view(),
        name="report_pdf",
    ),
    # Agreements and business calendars (read-only; edited in the Django admin).
    path("agreements/", views.AgreementListView.as_view(), name="agreement_list"),
    path("agreements/<int:pk>/", views.AgreementDetailView.as_view(), name="agreement_detail"),
    path("calendars/", views.CalendarListView.as_view(), name="calendar_list"),
    path("calendars/<int:pk>/", views.CalendarDetailView.as_view(), name="calendar_detail"),
    # Service outages and availability (fragments of a service's CI page).
    path(
        "services/<int:service_pk>/agreements/",
        views.ServiceAgreementsView.as_view(),
        name="service_agreements",
    ),
    path(
        "services/<int:service_pk>/outages/",
        views.ServiceOutagesView.as_view(),
        name="service_outages",
    ),
    path(
        "services/<int:service_pk>/outages/new/",
        views.ServiceOutageCreateView.as_view(),
        name="service_outage_create",
    ),
    path("outages/<int:pk>/end/", views.ServiceOutageEndView.as_view(), name="service_outage_end"),
    # The SLA clocks of a record (a fragment of its page).
    path(
        "clocks/<str:record_type>/<int:pk>/",
        views.RecordClocksView.as_view(),
        name="record_clocks",
    ),
]
