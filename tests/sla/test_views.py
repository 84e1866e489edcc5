"""The SLA dashboard, breach list, CSV export and monthly service-level reports."""

import csv
import datetime as dt
import io

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from sla import selectors
from sla.choices import ClockState
from sla.reports import service_level_report_pdf
from sla.tasks import dashboard_cache_warm_task
from sla.views import csv_safe
from tests.factories import OrganisationFactory
from tests.sla.factories import ServiceFactory
from tests.sla.test_selectors import FEB, at, clock, desk_create, rollup

PERIOD_QUERY = {"date_from": "2026-01", "date_to": "2026-03"}


@pytest.fixture
def desk(db):
    cache.clear()
    return desk_create()


@pytest.fixture
def breached(desk):
    return clock(
        desk,
        state=ClockState.BREACHED,
        stopped_at=at("2026-02-10T12:00"),
        breached_at=at("2026-02-09T12:00"),
    )


def csv_rows(response) -> list[list[str]]:
    content = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(content)))


# ---------------------------------------------------------------- dashboard


def test_dashboard_shows_attainment_tables_trend_and_breaches(client, manager, desk, breached):
    client.force_login(manager)

    response = client.get(reverse("sla:dashboard"), PERIOD_QUERY)

    assert response.status_code == 200
    tables = {table["name"]: table for table in response.context["tables"]}
    assert list(tables) == ["service", "organisation", "priority", "group", "month"]
    assert [
        (r["label"], r["met"], r["breached"], r["percent"]) for r in tables["service"]["rows"]
    ] == [
        ("No service", 0, 1, 0.0),
        ("E-mail", 4, 2, 66.7),
        ("Online shop", 13, 2, 86.7),
    ]
    assert response.context["totals"]["percent"] == 77.3
    chart = response.context["trend_chart"]
    assert chart["labels"] == ["January 2026", "February 2026", "March 2026"]
    assert chart["percent"] == [80.0, 75.0, 75.0]
    assert chart["breached"] == [2, 2, 1]
    assert list(response.context["breaches"]) == [breached]
    html = response.content.decode()
    assert 'id="sla-trend-chart"' in html
    assert 'id="sla-trend-data"' in html
    assert "js/sla-dashboard.js" in html
    assert "86.7 %" in html
    assert f'href="/incidents/{breached.object_id}/"' in html


def test_dashboard_rows_drill_down_to_the_dashboard_filtered_by_them(client, manager, desk):
    client.force_login(manager)

    response = client.get(reverse("sla:dashboard"), PERIOD_QUERY)

    tables = {table["name"]: table for table in response.context["tables"]}
    shop = tables["service"]["rows"][2]
    assert shop["drill_url"] == (
        f"/sla/?date_from=2026-01&date_to=2026-03&service={desk.shop.pk}#breaches"
    )
    assert tables["service"]["rows"][0]["drill_url"] == ""
    assert (
        tables["month"]["rows"][1]["drill_url"]
        == "/sla/?date_from=2026-02&date_to=2026-02#breaches"
    )
    assert tables["priority"]["rows"][0]["drill_url"].endswith("&priority=1#breaches")


def _many_organisations(desk, count: int) -> list:
    """`count` more customers of the shop in February; customer n met n of 100."""
    customers = [OrganisationFactory(name=f"Customer {n:02d}") for n in range(count)]
    for n, customer in enumerate(customers):
        rollup(
            FEB,
            desk.resolution,
            service=desk.shop,
            organisation=customer,
            group=desk.desk,
            priority=2,
            met=n,
            breached=100 - n,
        )
    return customers


def test_dashboard_shows_the_worst_rows_of_a_long_table_and_links_to_all(client, manager, desk):
    _many_organisations(desk, 20)
    client.force_login(manager)

    response = client.get(reverse("sla:dashboard"), PERIOD_QUERY)

    tables = {table["name"]: table for table in response.context["tables"]}
    organisations = tables["organisation"]
    assert organisations["count"] == 23  # 20 + Acme, Bluebird, no organisation
    assert [row["label"] for row in organisations["rows"]] == [
        f"Customer {n:02d}" for n in range(15)
    ]
    assert organisations["all_url"] == (
        "/sla/tables/organisation/?date_from=2026-01&date_to=2026-03"
    )
    # Short tables are whole; priorities and months keep their natural order.
    assert (tables["service"]["count"], len(tables["service"]["rows"])) == (3, 3)
    assert tables["service"]["all_url"] == ""
    assert [row["key"] for row in tables["priority"]["rows"]] == [1, 2, 3, None]
    html = response.content.decode()
    assert "Lowest attainment first: 15 of 23" in html
    assert (
        '<a class="btn btn-link btn-sm" href="/sla/tables/organisation/?date_from=2026-01&amp;'
        'date_to=2026-03" hx-get="/sla/tables/organisation/?date_from=2026-01&amp;'
        'date_to=2026-03" hx-target="#sla-organisation-table" hx-swap="outerHTML">'
        "Show all 23</a>"
    ) in html
    assert ">Customer 14</a>" in html
    assert ">Customer 15</a>" not in html


def test_table_page_lists_every_row_worst_first_with_the_filters(client, manager, desk):
    _many_organisations(desk, 20)
    client.force_login(manager)
    url = reverse("sla:attainment_table", args=["organisation"])

    response = client.get(url, {**PERIOD_QUERY, "group": desk.desk.pk})

    assert response.status_code == 200
    assert "sla/attainment_table.html" in [t.name for t in response.templates]
    table = response.context["table"]
    assert [row["label"] for row in table["rows"]] == [
        *(f"Customer {n:02d}" for n in range(20)),
        "Acme Trading",
    ]
    assert table["all_url"] == ""
    assert table["rows"][0]["drill_url"] == (
        f"/sla/?date_from=2026-01&date_to=2026-03&group={desk.desk.pk}"
        f"&organisation={table['rows'][0]['key']}#breaches"
    )
    assert response.context["dashboard_url"] == (
        f"/sla/?date_from=2026-01&date_to=2026-03&group={desk.desk.pk}"
    )


def test_table_fragment_replaces_the_short_table_for_htmx(client, manager, desk):
    _many_organisations(desk, 20)
    client.force_login(manager)
    url = reverse("sla:attainment_table", args=["organisation"])

    response = client.get(url, PERIOD_QUERY, headers={"HX-Request": "true"})

    html = response.content.decode()
    assert [t.name for t in response.templates][0] == "sla/partials/attainment_table.html"
    assert html.lstrip().startswith('<section class="card h-100"')
    assert 'id="sla-organisation-table"' in html
    assert html.count("<tr>") == 24  # header + 23 rows
    assert "Show all" not in html


def test_table_page_of_an_unknown_table_is_not_found(client, manager, db):
    client.force_login(manager)

    response = client.get(reverse("sla:attainment_table", args=["customer"]))

    assert response.status_code == 404


def test_dashboard_filtered_by_organisation(client, manager, desk, breached):
    client.force_login(manager)

    response = client.get(
        reverse("sla:dashboard"), {**PERIOD_QUERY, "organisation": desk.bluebird.pk}
    )

    tables = {table["name"]: table for table in response.context["tables"]}
    assert [(r["label"], r["met"], r["breached"]) for r in tables["service"]["rows"]] == [
        ("E-mail", 1, 2)
    ]
    assert list(response.context["breaches"]) == []
    chips = response.context["active_filters"]
    assert [(str(c["label"]), c["value"]) for c in chips] == [
        ("Organisation", "Bluebird Logistics")
    ]
    assert chips[0]["remove_url"] == "?date_from=2026-01&date_to=2026-03"


def test_dashboard_filter_selects_mark_the_chosen_values(client, manager, desk):
    OrganisationFactory(name='Tom & "Jerry" <Ltd>', code="tj")
    client.force_login(manager)

    response = client.get(
        reverse("sla:dashboard"), {**PERIOD_QUERY, "organisation": desk.bluebird.pk}
    )

    html = response.content.decode()
    assert (
        '<select class="form-select form-select-sm" id="id_organisation" name="organisation">'
        '<option value="">All organisations</option>'
        f'<option value="{desk.acme.pk}">Acme Trading</option>'
        f'<option value="{desk.bluebird.pk}" selected>Bluebird Logistics</option>'
    ) in html
    assert ">Tom &amp; &quot;Jerry&quot; &lt;Ltd&gt;</option>" in html
    assert (
        '<select class="form-select form-select-sm" id="id_group" name="group">'
        '<option value="" selected>All groups</option>'
        f'<option value="{desk.network.pk}">Network</option>'
    ) in html


def test_dashboard_defaults_to_the_last_twelve_months(client, manager, db):
    client.force_login(manager)

    response = client.get(reverse("sla:dashboard"))

    assert response.status_code == 200
    form = response.context["form"]
    today = dt.date.today().replace(day=1)
    assert form.cleaned_data["date_to"] == today
    assert len(response.context["trend_chart"]["labels"]) == 12
    assert f'value="{today:%Y-%m}"' in response.content.decode()


def test_dashboard_refuses_a_reversed_period_and_shows_the_default(client, manager, db):
    client.force_login(manager)

    response = client.get(reverse("sla:dashboard"), {"date_from": "2026-05", "date_to": "2026-01"})

    assert response.status_code == 200
    assert response.context["form"].errors["date_from"] == ["The period must start before it ends."]
    assert len(response.context["trend_chart"]["labels"]) == 12


def test_dashboard_queries_are_bounded_and_cached(
    client, manager, desk, breached, django_assert_max_num_queries
):
    client.force_login(manager)
    url = reverse("sla:dashboard")
    client.get(url, PERIOD_QUERY)  # session, permissions and content types warmed up
    cache.clear()

    with django_assert_max_num_queries(30) as first:
        client.get(url, PERIOD_QUERY)
    with django_assert_max_num_queries(30) as second:
        client.get(url, PERIOD_QUERY)

    rollup_queries = [q for q in second.captured_queries if "sla_attainmentrollup" in q["sql"]]
    assert [q for q in first.captured_queries if "sla_attainmentrollup" in q["sql"]]
    assert rollup_queries == []
    assert len(second.captured_queries) < len(first.captured_queries)


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_warm_task_fills_the_entry_the_default_dashboard_reads(client, manager, desk, language):
    this_month = timezone.localdate().replace(day=1)
    rollup(
        this_month,
        desk.resolution,
        service=desk.mail,
        organisation=desk.bluebird,
        group=desk.network,
        priority=3,
        met=7,
        breached=3,
    )
    late = clock(
        desk,
        state=ClockState.BREACHED,
        stopped_at=timezone.now(),
        breached_at=timezone.now() - dt.timedelta(minutes=5),
    )
    manager.language = language
    manager.save(update_fields=["language"])
    client.force_login(manager)
    client.get(reverse("sla:dashboard"))  # session, permissions and content types read
    cache.clear()

    dashboard_cache_warm_task()
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("sla:dashboard"))

    assert response.status_code == 200
    assert [q["sql"] for q in queries if "sla_attainmentrollup" in q["sql"]] == []
    assert [q["sql"] for q in queries if '"breached_at" >=' in q["sql"]] == []
    with translation.override(language):
        expected = selectors.attainment_dashboard(**selectors.dashboard_default_filters())
    assert response.context["totals"] == expected["totals"]
    assert response.context["trend_chart"]["labels"] == [row["label"] for row in expected["trend"]]
    assert response.context["trend_chart"]["met"][-1] == 7
    assert list(response.context["breaches"]) == [late]


def test_filtered_dashboard_is_not_warmed_by_the_task(client, manager, desk):
    client.force_login(manager)
    client.get(reverse("sla:dashboard"), PERIOD_QUERY)
    cache.clear()

    dashboard_cache_warm_task()
    with CaptureQueriesContext(connection) as queries:
        client.get(reverse("sla:dashboard"), PERIOD_QUERY)

    assert len([q for q in queries if "sla_attainmentrollup" in q["sql"]]) == 1


def test_dashboard_is_refused_to_customers_and_sends_anonymous_to_sign_in(client, customer_a, db):
    anonymous = client.get(reverse("sla:dashboard"))
    client.force_login(customer_a)
    customer = client.get(reverse("sla:dashboard"))

    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith(reverse("accounts:login"))
    assert customer.status_code == 403


def test_agents_who_read_agreements_see_the_dashboard_in_the_navigation(client, agent, db):
    client.force_login(agent)

    response = client.get(reverse("core:home"))

    assert (
        f'href="{reverse("sla:dashboard")}" data-nav="sla_dashboard"' in response.content.decode()
    )


def test_manager_dashboard_links_to_the_sla_dashboard_and_reports(client, manager, db):
    client.force_login(manager)

    html = client.get(reverse("reports:dashboard")).content.decode()

    assert f'href="{reverse("sla:dashboard")}"' in html
    assert f'href="{reverse("sla:report_list")}"' in html


# ---------------------------------------------------------------- breaches


def test_breach_list_pages_with_links(
    client, manager, desk, breached, django_assert_max_num_queries
):
    for _n in range(3):
        clock(desk, state=ClockState.RUNNING, breached_at=at("2026-03-05T09:00"))
    client.force_login(manager)
    client.get(reverse("sla:breach_list"), PERIOD_QUERY)

    with django_assert_max_num_queries(20):
        response = client.get(reverse("sla:breach_list"), PERIOD_QUERY)

    page = response.context["page"]
    assert page.paginator.count == 4
    assert page.object_list[-1] == breached
    assert all(c.record_url == f"/incidents/{c.object_id}/" for c in page.object_list)
    assert response.content.decode().count("Overdue, open") == 3


# ---------------------------------------------------------------- CSV export


def test_export_csv_of_the_current_table(client, manager, desk):
    client.force_login(manager)

    response = client.get(
        reverse("sla:attainment_export"), {**PERIOD_QUERY, "table": "organisation"}
    )

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        'attachment; filename="sla-organisation-2026-01-2026-03.csv"'
    )
    assert csv_rows(response) == [
        ["organisation", "Met", "Breached", "Total", "Attainment (%)"],
        ["Acme Trading", "13", "3", "16", "81.3"],
        ["Bluebird Logistics", "1", "2", "3", "33.3"],
        ["No organisation", "3", "0", "3", "100.0"],
    ]


def test_export_csv_applies_the_filters(client, manager, desk):
    client.force_login(manager)

    response = client.get(
        reverse("sla:attainment_export"),
        {**PERIOD_QUERY, "table": "month", "service": desk.shop.pk},
    )

    assert csv_rows(response)[1:] == [
        ["January 2026", "8", "2", "10", "80.0"],
        ["February 2026", "5", "0", "5", "100.0"],
    ]


def test_export_csv_neutralises_formulas(client, manager, desk):
    evil = ServiceFactory(name='=HYPERLINK("http://x.example/","click")')
    minus = ServiceFactory(name="-2+3")
    at_sign = ServiceFactory(name="@SUM(A1)")
    plus = ServiceFactory(name="+1")
    for service in (evil, minus, at_sign, plus):
        rollup(
            FEB,
            desk.resolution,
            service=service,
            organisation=desk.acme,
            group=desk.desk,
            priority=3,
            met=1,
            breached=0,
        )
    client.force_login(manager)

    response = client.get(reverse("sla:attainment_export"), {**PERIOD_QUERY, "table": "service"})

    labels = [row[0] for row in csv_rows(response)[1:]]
    assert labels == [
        "'+1",
        "'-2+3",
        '\'=HYPERLINK("http://x.example/","click")',
        "'@SUM(A1)",
        "E-mail",
        "Online shop",
        "No service",
    ]


def test_csv_safe_prefixes_only_formula_starts():
    assert csv_safe("=1+1") == "'=1+1"
    assert csv_safe("\t=1") == "'\t=1"
    assert csv_safe("Mail = ok") == "Mail = ok"
    assert csv_safe(None) == ""
    assert csv_safe(12) == "12"


def test_export_breaches_csv(client, manager, desk, breached):
    client.force_login(manager)

    response = client.get(reverse("sla:attainment_export"), {**PERIOD_QUERY, "table": "breaches"})

    rows = csv_rows(response)
    assert rows[0][:3] == ["Record", "Title", "Agreement"]
    incident = breached.ticket
    assert rows[1] == [
        incident.number,
        incident.title,
        "Gold support",
        "Resolve P1-P3",
        "Resolution",
        "Online shop",
        "Acme Trading",
        "Service desk",
        "2",
        "2026-02-09T12:00:00+00:00",
        "Breached",
    ]
    assert len(rows) == 2


def test_export_of_an_unknown_table_is_not_found(client, manager, db):
    client.force_login(manager)

    response = client.get(reverse("sla:attainment_export"), {"table": "users"})

    assert response.status_code == 404


def test_export_is_refused_to_customers(client, customer_a, desk):
    client.force_login(customer_a)

    response = client.get(reverse("sla:attainment_export"), {"table": "service"})

    assert response.status_code == 403


# ---------------------------------------------------------------- monthly reports


def test_report_chooser_lists_organisations_by_month(client, manager, desk):
    client.force_login(manager)

    response = client.get(reverse("sla:report_list"))

    assert [o.name for o in response.context["organisations"]] == [
        "Acme Trading",
        "Bluebird Logistics",
    ]
    months = response.context["months"]
    assert len(months) == 12
    assert months[0]["key"] == f"{dt.date.today():%Y-%m}"
    url = reverse("sla:report_detail", args=[desk.acme.pk, months[0]["key"]])
    assert f'href="{url}"' in response.content.decode()


def test_report_page(client, manager, desk, breached):
    desk.resolution.agreement.services.set([desk.shop])
    client.force_login(manager)

    response = client.get(reverse("sla:report_detail", args=[desk.acme.pk, "2026-02"]))

    assert response.status_code == 200
    html = response.content.decode()
    assert "Acme Trading · February 2026" in html
    rows = response.context["report"]["targets"]
    assert [(r["target"].name, r["promise"], r["total"], r["percent"]) for r in rows] == [
        ("Resolve P1-P3", f"Resolution within 4:00 h ({desk.resolution.calendar.name})", 5, 100.0),
        ("Respond", f"First response within 4:00 h ({desk.response.calendar.name})", 0, None),
    ]
    assert f'href="/incidents/{breached.object_id}/"' in html
    availability = response.context["report"]["availability"]
    assert [(a["service"].name, a["downtime"], a["agreed_time"]) for a in availability] == [
        ("Online shop", "0:00 h", "672:00 h")
    ]
    assert response.context["pdf_url"] == (
        reverse("sla:report_pdf", args=[desk.acme.pk, "2026-02"]) + "?language=en"
    )


def test_report_page_in_the_recipients_language(client, manager, desk):
    client.force_login(manager)

    response = client.get(
        reverse("sla:report_detail", args=[desk.acme.pk, "2026-02"]), {"language": "zh-hans"}
    )

    assert response.status_code == 200
    assert response.context["report_language"] == "zh-hans"
    assert '<html lang="zh-hans">' in response.content.decode()
    assert "2026" in response.context["report"]["month_label"]
    assert response.context["report"]["month_label"] != "February 2026"


def test_report_pdf_download(client, manager, desk, breached):
    client.force_login(manager)

    response = client.get(reverse("sla:report_pdf", args=[desk.acme.pk, "2026-02"]))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == (
        f'attachment; filename="service-level-report-{desk.acme.pk}-2026-02.pdf"'
    )
    assert response.content.startswith(b"%PDF")
    assert len(response.content) > 1500


def test_report_pdf_names_the_organisation_and_its_figures(desk, breached):
    desk.resolution.agreement.services.set([desk.shop])
    report = selectors.service_level_report(organisation=desk.acme, month=FEB)

    content = service_level_report_pdf(report, compress=False)

    assert content.startswith(b"%PDF")
    assert b"Acme Trading" in content
    assert b"Resolve P1-P3" in content
    assert b"Online shop" in content
    assert breached.ticket.number.encode() in content
    assert b"STSong-Light" not in content


def test_report_pdf_in_chinese_uses_the_cid_font(client, manager, desk):
    report = selectors.service_level_report(organisation=desk.acme, month=FEB)
    with translation.override("zh-hans"):
        content = service_level_report_pdf(report, compress=False)
    client.force_login(manager)
    response = client.get(
        reverse("sla:report_pdf", args=[desk.acme.pk, "2026-02"]), {"language": "zh-hans"}
    )

    assert content.startswith(b"%PDF")
    assert b"/BaseFont /STSong-Light" in content
    assert response.status_code == 200
    assert response.content.startswith(b"%PDF")


def test_report_of_an_unknown_organisation_is_not_found(client, manager, db):
    client.force_login(manager)

    response = client.get(reverse("sla:report_detail", args=[999999, "2026-02"]))

    assert response.status_code == 404


@pytest.mark.parametrize("name", ["report_list", "report_detail", "report_pdf"])
def test_reports_are_refused_to_customers(client, customer_a, desk, name):
    client.force_login(customer_a)
    args = [] if name == "report_list" else [desk.acme.pk, "2026-02"]

    response = client.get(reverse(f"sla:{name}", args=args))

    assert response.status_code == 403
