"""Service outages and measured availability: the services, the read functions and the
fragments of a service's CI page."""

import datetime as dt
from decimal import Decimal

import pytest
from django.apps import apps
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from core.exceptions import DomainError
from core.models import TicketEvent
from incidents.services import incident_create
from sla.availability import (
    OUTAGE_ENDED,
    OUTAGE_RECORDED,
    outage_end,
    outage_record,
    service_agreements,
    service_availability,
    service_availability_months,
)
from sla.choices import AgreementStatus, Metric
from sla.models import ServiceOutage
from tests.config_items.conftest import cmdb_defaults_create
from tests.config_items.factories import ConfigurationItemFactory, ci_class
from tests.sla.factories import (
    AgreementFactory,
    ServiceFactory,
    ServiceOutageFactory,
    TargetFactory,
)

UTC = dt.UTC
JUNE = (dt.datetime(2026, 6, 1, tzinfo=UTC), dt.datetime(2026, 7, 1, tzinfo=UTC))
AFTER_JUNE = dt.datetime(2026, 7, 15, tzinfo=UTC)
HOUR = dt.timedelta(hours=1)
JUNE_HOURS = 30 * 24


def at(day: int, hour: int, minute: int = 0, second: int = 0, month: int = 6):
    return dt.datetime(2026, month, day, hour, minute, second, tzinfo=UTC)


def june(service, now=AFTER_JUNE) -> dict:
    return service_availability(service=service, start=JUNE[0], end=JUNE[1], now=now)


def availability_target(percent: str, services=None, **agreement):
    """An active agreement with an availability target of `percent`."""
    return TargetFactory(
        agreement=AgreementFactory(services=services or [], **agreement),
        metric=Metric.AVAILABILITY,
        duration=None,
        calendar=None,
        availability_percent=Decimal(percent),
    )


@pytest.fixture(autouse=True)
def cmdb_defaults(db):
    """The standard CI classes (browser tests flush what the data migration made)."""
    cmdb_defaults_create()


@pytest.fixture
def service(db):
    return ServiceFactory(name="Online shop")


# ---------------------------------------------------------------- measuring


def test_a_month_without_outages_is_fully_available(service):
    result = june(service)

    assert result == {
        "agreed_time": dt.timedelta(days=30),
        "downtime": dt.timedelta(0),
        "planned_downtime": dt.timedelta(0),
        "measured_percent": Decimal("100.0000"),
        "target_percent": None,
        "is_met": None,
    }


def test_overlapping_outages_are_counted_once(service):
    ServiceOutageFactory(service=service, started_at=at(10, 10), ended_at=at(10, 11))
    ServiceOutageFactory(service=service, started_at=at(10, 10, 30), ended_at=at(10, 12))
    ServiceOutageFactory(service=service, started_at=at(10, 10, 15), ended_at=at(10, 10, 45))
    ServiceOutageFactory(service=service, started_at=at(20, 8), ended_at=at(20, 8, 30))

    result = june(service)

    assert result["downtime"] == dt.timedelta(hours=2, minutes=30)
    assert result["agreed_time"] == dt.timedelta(days=30)
    # (720 h - 2.5 h) / 720 h = 99.65277...: truncated, never rounded up.
    assert result["measured_percent"] == Decimal("99.6527")


def test_outages_across_the_period_boundaries_are_clipped(service):
    ServiceOutageFactory(service=service, started_at=at(31, 23, month=5), ended_at=at(1, 1))
    ServiceOutageFactory(service=service, started_at=at(30, 23, 30), ended_at=at(1, 0, 30, month=7))
    ServiceOutageFactory(service=service, started_at=at(20, 1, month=5), ended_at=at(1, 0))

    result = june(service)

    assert result["downtime"] == dt.timedelta(hours=1, minutes=30)


def test_planned_maintenance_is_not_agreed_time_and_hides_outages_inside_it(service):
    ServiceOutageFactory(service=service, started_at=at(5, 2), ended_at=at(5, 6), is_planned=True)
    ServiceOutageFactory(service=service, started_at=at(5, 3), ended_at=at(5, 4))
    ServiceOutageFactory(service=service, started_at=at(5, 5), ended_at=at(5, 7))

    result = june(service)

    assert result["planned_downtime"] == 4 * HOUR
    assert result["agreed_time"] == (JUNE_HOURS - 4) * HOUR
    assert result["downtime"] == HOUR
    # 715 h up of 716 h agreed.
    assert result["measured_percent"] == Decimal("99.8603")


def test_overlapping_maintenance_windows_are_merged(service):
    ServiceOutageFactory(service=service, started_at=at(5, 2), ended_at=at(5, 4), is_planned=True)
    ServiceOutageFactory(service=service, started_at=at(5, 3), ended_at=at(5, 5), is_planned=True)

    result = june(service)

    assert result["planned_downtime"] == 3 * HOUR
    assert result["agreed_time"] == (JUNE_HOURS - 3) * HOUR


def test_an_ongoing_outage_counts_up_to_now(service):
    ServiceOutageFactory(service=service, started_at=at(29, 22), ended_at=None)

    assert june(service, now=at(30, 1))["downtime"] == 3 * HOUR
    assert june(service, now=AFTER_JUNE)["downtime"] == 26 * HOUR
    assert june(service, now=at(29, 21))["downtime"] == dt.timedelta(0)


def test_ongoing_maintenance_counts_up_to_now(service):
    ServiceOutageFactory(service=service, started_at=at(30, 20), ended_at=None, is_planned=True)

    result = june(service, now=at(30, 22))

    assert result["planned_downtime"] == 2 * HOUR
    assert result["agreed_time"] == (JUNE_HOURS - 2) * HOUR


def test_other_services_outages_do_not_count(service):
    ServiceOutageFactory(started_at=at(10, 10), ended_at=at(10, 11))

    assert june(service)["downtime"] == dt.timedelta(0)


def test_a_target_of_99_9_percent_is_met_at_exactly_43_minutes_12_seconds(service):
    availability_target("99.9000", services=[service])
    ServiceOutageFactory(service=service, started_at=at(10, 10), ended_at=at(10, 10, 43, 12))

    result = june(service)

    assert result["target_percent"] == Decimal("99.9000")
    assert result["measured_percent"] == Decimal("99.9000")
    assert result["is_met"] is True


def test_a_target_of_99_9_percent_is_missed_one_second_later(service):
    availability_target("99.9000", services=[service])
    ServiceOutageFactory(service=service, started_at=at(10, 10), ended_at=at(10, 10, 43, 13))

    result = june(service)

    assert result["measured_percent"] == Decimal("99.8999")
    assert result["is_met"] is False


def test_the_strictest_target_of_the_covering_agreements_applies(service):
    other = ServiceFactory()
    availability_target("99.5000", services=[service])
    availability_target("99.9000")  # covers every service
    availability_target("99.9900", services=[other])
    availability_target("99.9990", services=[service], status=AgreementStatus.DRAFT)
    availability_target("99.9999", services=[service], valid_to=dt.date(2026, 5, 31))
    inactive = availability_target("99.9500", services=[service])
    inactive.is_active = False
    inactive.save()
    narrowed = availability_target("99.9800")
    narrowed.services.set([other])

    assert june(service)["target_percent"] == Decimal("99.9000")


def test_no_agreed_time_measures_100_percent(service):
    availability_target("99.9000", services=[service])
    ServiceOutageFactory(
        service=service, started_at=at(31, 0, month=5), ended_at=at(2, 0, month=7), is_planned=True
    )
    ServiceOutageFactory(service=service, started_at=at(10, 10), ended_at=at(10, 11))

    result = june(service)

    assert result["agreed_time"] == dt.timedelta(0)
    assert result["measured_percent"] == Decimal("100.0000")
    assert result["is_met"] is True


def test_this_month_and_last_month(service):
    ServiceOutageFactory(service=service, started_at=at(30, 23), ended_at=at(1, 1, month=7))

    months = service_availability_months(service=service, now=at(15, 12, month=7))

    assert [m["month"] for m in months] == [dt.date(2026, 7, 1), dt.date(2026, 6, 1)]
    assert [m["downtime"] for m in months] == [HOUR, HOUR]
    assert months[0]["agreed_time"] == dt.timedelta(days=31)


# ---------------------------------------------------------------- agreements of a service


def test_service_agreements_are_the_active_ones_in_force_that_cover_it(service):
    other = ServiceFactory()
    naming = AgreementFactory(name="Shop SLA", services=[service, other])
    every = AgreementFactory(name="Company SLA")
    AgreementFactory(name="Other SLA", services=[other])
    AgreementFactory(name="Draft SLA", status=AgreementStatus.DRAFT)
    AgreementFactory(name="Old SLA", valid_to=dt.date(2026, 5, 31))
    AgreementFactory(name="Future SLA", valid_from=dt.date(2026, 7, 1))
    own_target = TargetFactory(agreement=naming, name="Resolve", services=[service])
    TargetFactory(agreement=naming, name="Other's resolve", services=[other])
    TargetFactory(agreement=naming, name="Retired", is_active=False)

    agreements = list(service_agreements(service=service, on=dt.date(2026, 6, 15)))

    assert agreements == [every, naming]
    assert agreements[1].applicable_targets == [own_target]


# ---------------------------------------------------------------- recording


def test_outage_record_creates_an_audited_outage(service, manager):
    outage = outage_record(
        actor=manager,
        service=service,
        started_at=at(10, 10),
        ended_at=at(10, 11),
        description="Payment provider down",
    )

    outage = ServiceOutage.objects.get()
    assert (outage.service, outage.started_at, outage.ended_at, outage.is_planned) == (
        service,
        at(10, 10),
        at(10, 11),
        False,
    )
    assert outage.created_by == manager
    event = apps.get_model("sla", "ServiceOutageEvent").objects.get()
    assert event.pgh_obj_id == outage.pk
    assert event.pgh_label == "insert"
    assert event.pgh_context.metadata["user"] == manager.pk


def test_an_outage_linked_to_an_incident_is_recorded_on_its_timeline(service, manager, agent):
    incident = incident_create(actor=agent, title="Shop is down")

    outage = outage_record(actor=manager, service=service, started_at=at(10, 10), incident=incident)

    event = TicketEvent.objects.get(object_id=incident.pk, event_type=OUTAGE_RECORDED)
    assert event.actor == manager
    assert event.data == {
        "outage": outage.pk,
        "service": "Online shop",
        "service_id": service.pk,
        "started_at": "2026-06-10T10:00:00+00:00",
        "ended_at": None,
        "is_planned": False,
    }


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"started_at": at(10, 10), "ended_at": at(10, 10)}, "outage_end_before_start"),
        ({"started_at": at(10, 10), "ended_at": at(10, 9)}, "outage_end_before_start"),
        ({"started_at": dt.datetime(2999, 1, 1, tzinfo=UTC)}, "outage_in_future"),
    ],
)
def test_invalid_periods_are_refused(service, manager, kwargs, code):
    with pytest.raises(DomainError) as error:
        outage_record(actor=manager, service=service, **kwargs)

    assert error.value.code == code
    assert not ServiceOutage.objects.exists()


def test_maintenance_may_be_planned_in_the_future(service, manager):
    start = dt.datetime(2999, 1, 1, tzinfo=UTC)

    outage = outage_record(
        actor=manager, service=service, started_at=start, ended_at=start + HOUR, is_planned=True
    )

    assert outage.is_planned is True


def test_only_a_service_can_have_outages(manager):
    server = ConfigurationItemFactory(ci_class=ci_class("server"))

    with pytest.raises(DomainError) as error:
        outage_record(actor=manager, service=server, started_at=at(10, 10))

    assert error.value.code == "not_a_service"
    assert not ServiceOutage.objects.exists()


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (at(10, 10, 30), at(10, 12)),  # overlaps the end
        (at(10, 9), at(10, 10, 1)),  # overlaps the start
        (at(10, 10, 15), at(10, 10, 45)),  # inside
        (at(10, 10, 59), None),  # ongoing from inside
    ],
)
def test_an_outage_overlapping_another_of_the_same_kind_is_refused(service, manager, start, end):
    outage_record(actor=manager, service=service, started_at=at(10, 10), ended_at=at(10, 11))

    with pytest.raises(DomainError) as error:
        outage_record(actor=manager, service=service, started_at=start, ended_at=end)

    assert error.value.code == "outage_overlaps"
    assert ServiceOutage.objects.count() == 1


def test_an_ongoing_outage_blocks_any_later_one(service, manager):
    outage_record(actor=manager, service=service, started_at=at(10, 10))

    with pytest.raises(DomainError) as error:
        outage_record(actor=manager, service=service, started_at=at(12, 0), ended_at=at(12, 1))

    assert error.value.code == "outage_overlaps"


def test_adjacent_outages_and_outages_inside_maintenance_are_allowed(service, manager):
    outage_record(actor=manager, service=service, started_at=at(10, 10), ended_at=at(10, 11))
    outage_record(actor=manager, service=service, started_at=at(10, 11), ended_at=at(10, 12))
    outage_record(
        actor=manager, service=service, started_at=at(10, 9), ended_at=at(10, 13), is_planned=True
    )
    outage_record(
        actor=manager, service=ServiceFactory(), started_at=at(10, 10), ended_at=at(10, 11)
    )

    assert ServiceOutage.objects.count() == 4


def test_outage_end_ends_an_ongoing_outage(service, manager, agent):
    incident = incident_create(actor=agent, title="Shop is down")
    outage = outage_record(actor=manager, service=service, started_at=at(10, 10), incident=incident)

    outage_end(actor=manager, outage=outage, ended_at=at(10, 12))

    outage.refresh_from_db()
    assert outage.ended_at == at(10, 12)
    event = TicketEvent.objects.get(object_id=incident.pk, event_type=OUTAGE_ENDED)
    assert event.data["ended_at"] == "2026-06-10T12:00:00+00:00"
    assert june(service)["downtime"] == 2 * HOUR


@pytest.mark.parametrize(
    ("ended_at", "code"),
    [(at(10, 9), "outage_end_before_start"), (at(10, 10), "outage_end_before_start")],
)
def test_outage_end_refuses_an_end_before_the_start(service, manager, ended_at, code):
    outage = outage_record(actor=manager, service=service, started_at=at(10, 10))

    with pytest.raises(DomainError) as error:
        outage_end(actor=manager, outage=outage, ended_at=ended_at)

    assert error.value.code == code
    outage.refresh_from_db()
    assert outage.ended_at is None


def test_an_ended_outage_cannot_end_again(service, manager):
    outage = outage_record(
        actor=manager, service=service, started_at=at(10, 10), ended_at=at(10, 11)
    )

    with pytest.raises(DomainError) as error:
        outage_end(actor=manager, outage=outage, ended_at=at(10, 12))

    assert error.value.code == "outage_already_ended"
    outage.refresh_from_db()
    assert outage.ended_at == at(10, 11)


# ---------------------------------------------------------------- fragments of the CI page

HTMX = {"HTTP_HX_REQUEST": "true"}


def _url(name: str, service) -> str:
    return reverse(f"sla:{name}", kwargs={"service_pk": service.pk})


def test_the_ci_page_of_a_service_loads_both_cards(client, agent, service):
    client.force_login(agent)

    html = client.get(service.get_absolute_url()).content.decode()

    assert f'hx-get="{_url("service_agreements", service)}"' in html
    assert f'hx-get="{_url("service_outages", service)}"' in html


def test_the_ci_page_of_a_server_has_no_service_cards(client, agent):
    server = ConfigurationItemFactory(ci_class=ci_class("server"))
    client.force_login(agent)

    html = client.get(server.get_absolute_url()).content.decode()

    assert "/sla/services/" not in html


def test_agreements_fragment_shows_targets_and_availability(client, agent, service):
    target = availability_target("99.9000", services=[service])
    target.agreement.name = "Shop SLA"
    target.agreement.save()
    TargetFactory(agreement=target.agreement, name="Resolve P1", duration=4 * HOUR)
    ServiceOutageFactory(service=service, ended_at=None)
    client.force_login(agent)

    response = client.get(_url("service_agreements", service), **HTMX)

    assert response.status_code == 200
    assert response.templates[0].name == "sla/partials/service_agreements.html"
    html = response.content.decode()
    assert "Shop SLA" in html
    assert "Resolve P1" in html
    assert "4 h" in html
    assert "99.9000 %" in html
    assert 'hx-trigger="outagesChanged from:body"' in html
    months = response.context["months"]
    assert months[0]["downtime"] + months[1]["downtime"] >= 2 * HOUR


def test_outages_fragment_is_paginated_ten_a_page_most_recent_first(
    client, agent, service, django_assert_max_num_queries
):
    first = at(1, 0)
    for n in range(12):
        ServiceOutageFactory(
            service=service,
            started_at=first + n * HOUR,
            ended_at=first + n * HOUR + dt.timedelta(minutes=30),
        )
    client.force_login(agent)

    with django_assert_max_num_queries(12):
        page_one = client.get(_url("service_outages", service), **HTMX)
    page_two = client.get(_url("service_outages", service) + "?page=2", **HTMX)

    starts = [row["outage"].started_at for row in page_one.context["rows"]]
    assert starts == [first + n * HOUR for n in range(11, 1, -1)]
    assert [row["outage"].started_at for row in page_two.context["rows"]] == [
        first + HOUR,
        first,
    ]
    assert page_one.context["rows"][0]["duration"] == "30 min"
    assert "Page 1 of 2" in page_one.content.decode()


def test_agent_sees_outages_but_no_record_button(client, agent, service):
    client.force_login(agent)

    html = client.get(_url("service_outages", service), **HTMX).content.decode()

    assert "No outages recorded" in html
    assert "Record outage" not in html


@pytest.mark.parametrize("name", ["service_agreements", "service_outages"])
def test_customers_are_refused_the_fragments(client, customer_a, service, name):
    service.organisations.set([customer_a.organisation])
    client.force_login(customer_a)

    response = client.get(_url(name, service), **HTMX)

    assert response.status_code == 403


@pytest.mark.parametrize("name", ["service_agreements", "service_outages"])
def test_a_ci_that_is_no_service_has_no_fragments(client, agent, name):
    server = ConfigurationItemFactory(ci_class=ci_class("server"))
    client.force_login(agent)

    assert client.get(_url(name, server), **HTMX).status_code == 404


def _outage_post(**overrides) -> dict:
    data = {
        "started_at": "2026-06-10T18:00",
        "ended_at": "2026-06-10T19:30",
        "is_planned": "no",
        "incident": "",
        "description": "Checkout fails",
    }
    return {**data, **overrides}


def test_agent_without_the_add_permission_cannot_record_an_outage(client, agent, service):
    client.force_login(agent)

    form = client.get(_url("service_outage_create", service), **HTMX)
    post = client.post(_url("service_outage_create", service), _outage_post(), **HTMX)

    assert (form.status_code, post.status_code) == (403, 403)
    assert not ServiceOutage.objects.exists()


def test_customer_cannot_record_an_outage(client, customer_a, service):
    service.organisations.set([customer_a.organisation])
    client.force_login(customer_a)

    response = client.post(_url("service_outage_create", service), _outage_post(), **HTMX)

    assert response.status_code == 403
    assert not ServiceOutage.objects.exists()


def test_manager_records_an_outage_in_their_time_zone(client, manager, agent, service):
    manager.time_zone = "Asia/Shanghai"
    manager.save()
    incident = incident_create(actor=agent, title="Checkout fails")
    client.force_login(manager)

    form = client.get(_url("service_outage_create", service), **HTMX)
    response = client.post(
        _url("service_outage_create", service),
        _outage_post(incident=incident.number.lower()),
        **HTMX,
    )

    assert form.status_code == 200
    assert 'type="datetime-local"' in form.content.decode()
    assert response.status_code == 200
    assert response["HX-Trigger"] == "outagesChanged"
    assert response.templates[0].name == "sla/partials/service_outages.html"
    outage = ServiceOutage.objects.get()
    assert (outage.started_at, outage.ended_at) == (at(10, 10), at(10, 11, 30))
    assert (outage.incident, outage.is_planned, outage.created_by) == (incident, False, manager)
    assert incident.number in response.content.decode()
    assert "1 h 30 min" in response.content.decode()


def test_an_invalid_outage_re_renders_the_form_with_the_reason(client, manager, service):
    client.force_login(manager)

    response = client.post(
        _url("service_outage_create", service),
        _outage_post(ended_at="2026-06-10T17:00", incident="INC9999999"),
        **HTMX,
    )

    assert response.status_code == 200
    assert response.templates[0].name == "sla/outage_form.html"
    assert "No incident INC9999999 was found." in response.content.decode()
    assert not ServiceOutage.objects.exists()

    response = client.post(
        _url("service_outage_create", service),
        _outage_post(ended_at="2026-06-10T17:00"),
        **HTMX,
    )

    assert "The end of an outage must be after its start." in response.content.decode()
    assert "HX-Trigger" not in response
    assert not ServiceOutage.objects.exists()


def test_an_ongoing_outage_shows_an_end_button_and_manager_ends_it(client, manager, service):
    outage = outage_record(actor=manager, service=service, started_at=at(10, 10))
    client.force_login(manager)
    url = reverse("sla:service_outage_end", kwargs={"pk": outage.pk})

    html = client.get(_url("service_outages", service), **HTMX).content.decode()
    response = client.post(url, {"ended_at": "2026-06-10T12:15"}, **HTMX)

    assert f'hx-post="{url}"' in html
    assert "Ongoing" in html
    assert response.status_code == 200
    assert response["HX-Trigger"] == "outagesChanged"
    outage.refresh_from_db()
    assert outage.ended_at == at(10, 12, 15)

    again = client.post(url, {"ended_at": "2026-06-10T13:00"}, **HTMX)

    assert "This outage has already ended." in again.content.decode()
    outage.refresh_from_db()
    assert outage.ended_at == at(10, 12, 15)


def test_an_unreadable_end_is_refused_and_no_end_means_now(client, manager, service):
    outage = outage_record(actor=manager, service=service, started_at=at(10, 10))
    client.force_login(manager)
    url = reverse("sla:service_outage_end", kwargs={"pk": outage.pk})

    refused = client.post(url, {"ended_at": "yesterday-ish"}, **HTMX)

    assert "Enter a valid date/time." in refused.content.decode()
    outage.refresh_from_db()
    assert outage.ended_at is None

    before = timezone.now()
    client.post(url, {"ended_at": ""}, **HTMX)

    outage.refresh_from_db()
    assert before <= outage.ended_at <= timezone.now()


def test_agent_cannot_end_an_outage(client, agent, manager, service):
    outage = outage_record(actor=manager, service=service, started_at=at(10, 10))
    client.force_login(agent)

    html = client.get(_url("service_outages", service), **HTMX).content.decode()
    response = client.post(reverse("sla:service_outage_end", kwargs={"pk": outage.pk}), **HTMX)

    assert "End outage" not in html
    assert response.status_code == 403
    outage.refresh_from_db()
    assert outage.ended_at is None


def test_an_agent_granted_the_permission_may_record(client, agent, service):
    agent.user_permissions.add(Permission.objects.get(codename="add_serviceoutage"))
    client.force_login(agent)

    response = client.post(_url("service_outage_create", service), _outage_post(), **HTMX)

    assert response.status_code == 200
    assert ServiceOutage.objects.count() == 1


def test_without_htmx_recording_redirects_to_the_ci_page(client, manager, service):
    client.force_login(manager)

    response = client.post(_url("service_outage_create", service), _outage_post())

    assert response.status_code == 302
    assert response["Location"] == service.get_absolute_url() + "#outages"
    assert ServiceOutage.objects.count() == 1
