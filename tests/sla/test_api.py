"""The SLA API: agreements, targets with nested escalation actions, calendars with their
hours and days, calendar days, service outages and read-only clocks."""

import datetime as dt
import itertools

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from sla import services as sla_services
from sla.choices import AgreementKind, AgreementStatus, ClockEventKind, ClockState, PauseReason
from sla.models import (
    Agreement,
    BusinessCalendar,
    CalendarDay,
    Clock,
    EscalationAction,
    ServiceOutage,
    Target,
    WorkingInterval,
)
from sla.tasks import clocks_recompute_task
from tests.factories import OrganisationFactory, SupportGroupFactory
from tests.incidents.factories import IncidentFactory
from tests.sla.factories import (
    AgreementFactory,
    BusinessCalendarFactory,
    CalendarDayFactory,
    ClockEventFactory,
    ClockFactory,
    EscalationActionFactory,
    ServiceFactory,
    ServiceOutageFactory,
    TargetFactory,
    office_hours_calendar,
)

API = "api-v1:sla-api"


def url(name: str, pk: int | None = None) -> str:
    if pk is None:
        return reverse(f"{API}:{name}-list")
    return reverse(f"{API}:{name}-detail", args=[pk])


@pytest.fixture
def as_manager(api_client, manager):
    api_client.force_authenticate(manager)
    return api_client


@pytest.fixture
def recompute_calls(monkeypatch):
    """What clocks_recompute_task was sent (the broker is outside the process)."""
    calls = []
    monkeypatch.setattr(clocks_recompute_task, "delay", lambda **kwargs: calls.append(kwargs))
    return calls


# --- who may do what -------------------------------------------------------------------


def _agreement_payload():
    return {"kind": "sla", "name": "Gold", "valid_from": "2026-01-01"}


def _target_payload():
    return {
        "agreement": AgreementFactory().pk,
        "name": "P2 response",
        "metric": "response",
        "duration": "01:00:00",
        "calendar": BusinessCalendarFactory().pk,
    }


_names = itertools.count(1)


def _calendar_payload():
    return {"name": f"Berlin office {next(_names)}", "time_zone": "Europe/Berlin"}


def _day_payload():
    calendar = office_hours_calendar()
    return {"calendar": calendar.pk, "date": "2026-12-24", "kind": "holiday", "name": "Eve"}


def _outage_payload():
    return {
        "service": ServiceFactory().pk,
        "started_at": "2026-03-02T10:00:00Z",
        "ended_at": "2026-03-02T11:00:00Z",
    }


WRITABLE = {
    "agreement": (Agreement, _agreement_payload, AgreementFactory),
    "target": (Target, _target_payload, TargetFactory),
    "calendar": (BusinessCalendar, _calendar_payload, BusinessCalendarFactory),
    "calendar-day": (CalendarDay, _day_payload, CalendarDayFactory),
    "outage": (ServiceOutage, _outage_payload, ServiceOutageFactory),
}


@pytest.fixture
def users(customer_a, agent, manager, administrator):
    return {
        "anonymous": None,
        "customer_a": customer_a,
        "agent": agent,
        "manager": manager,
        "administrator": administrator,
    }


def _as(user):
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


@pytest.mark.parametrize("name", [*WRITABLE, "clock"])
def test_reading_is_for_staff(name, users):
    answers = {role: _as(user).get(url(name)).status_code for role, user in users.items()}

    assert answers == {
        "anonymous": 401,
        "customer_a": 403,
        "agent": 200,
        "manager": 200,
        "administrator": 200,
    }


@pytest.mark.parametrize("name", WRITABLE)
def test_creating_needs_the_add_permission(name, users):
    model, payload, _factory = WRITABLE[name]
    answers, created = {}, {}

    for role, user in users.items():
        before = model.objects.count()
        answers[role] = _as(user).post(url(name), payload(), format="json").status_code
        created[role] = model.objects.count() - before

    assert answers == {
        "anonymous": 401,
        "customer_a": 403,
        "agent": 403,
        "manager": 201,
        "administrator": 201,
    }
    assert created == {
        "anonymous": 0,
        "customer_a": 0,
        "agent": 0,
        "manager": 1,
        "administrator": 1,
    }


@pytest.mark.parametrize("name", WRITABLE)
def test_agents_cannot_change_or_delete(name, api_client, agent):
    model, _payload, factory = WRITABLE[name]
    obj = factory()
    api_client.force_authenticate(agent)

    patched = api_client.patch(url(name, obj.pk), {"name": "Changed"}, format="json")
    deleted = api_client.delete(url(name, obj.pk))

    assert (patched.status_code, deleted.status_code) == (403, 403)
    assert model.objects.filter(pk=obj.pk).exists()


@pytest.mark.parametrize("role", ["manager", "administrator"])
def test_clocks_are_read_only_for_everyone(role, request, api_client):
    clock = ClockFactory(record=IncidentFactory())
    api_client.force_authenticate(request.getfixturevalue(role))

    answers = [
        api_client.post(url("clock"), {}, format="json").status_code,
        api_client.patch(url("clock", clock.pk), {"state": "met"}, format="json").status_code,
        api_client.delete(url("clock", clock.pk)).status_code,
    ]

    assert answers == [403, 403, 403]
    clock.refresh_from_db()
    assert clock.state == ClockState.RUNNING


# --- agreements ------------------------------------------------------------------------


def test_manager_creates_an_agreement_with_services_and_organisations(as_manager, org_a):
    service = ServiceFactory(name="Online shop")
    group = SupportGroupFactory(name="Network")

    response = as_manager.post(
        url("agreement"),
        {
            "kind": "sla",
            "name": "Shop gold",
            "reference": "SLA-7",
            "status": "active",
            "valid_from": "2026-01-01",
            "valid_to": "2026-12-31",
            "services": [service.pk],
            "organisations": [org_a.pk],
            "support_groups": [group.pk],
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    agreement = Agreement.objects.get(pk=body["id"])
    assert {k: body[k] for k in ("kind", "name", "reference", "status", "valid_to")} == {
        "kind": "sla",
        "name": "Shop gold",
        "reference": "SLA-7",
        "status": "active",
        "valid_to": "2026-12-31",
    }
    assert (body["services"], body["organisations"], body["support_groups"]) == (
        [service.pk],
        [org_a.pk],
        [group.pk],
    )
    assert body["targets"] == []
    assert list(agreement.services.all()) == [service]
    assert agreement.valid_from == dt.date(2026, 1, 1)


def test_agreement_update_replaces_its_lists(as_manager, org_a, org_b):
    agreement = AgreementFactory(organisations=[org_a])
    target = TargetFactory(agreement=agreement, name="P1 resolution")

    response = as_manager.patch(
        url("agreement", agreement.pk),
        {"organisations": [org_b.pk], "status": "retired"},
        format="json",
    )

    assert response.status_code == 200, response.json()
    assert response.json()["organisations"] == [org_b.pk]
    assert response.json()["targets"] == [
        {"id": target.pk, "name": "P1 resolution", "metric": "resolution", "is_active": True}
    ]
    agreement.refresh_from_db()
    assert agreement.status == AgreementStatus.RETIRED
    assert list(agreement.organisations.all()) == [org_b]


def test_agreement_period_must_not_end_before_it_starts(as_manager):
    response = as_manager.post(
        url("agreement"),
        {**_agreement_payload(), "valid_from": "2026-06-01", "valid_to": "2026-05-31"},
        format="json",
    )

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert list(body["fields"]) == ["valid_to"]
    assert not Agreement.objects.exists()


def test_agreement_refuses_a_configuration_item_that_is_no_service(as_manager):
    from tests.config_items.factories import ConfigurationItemFactory

    server = ConfigurationItemFactory()

    response = as_manager.post(
        url("agreement"), {**_agreement_payload(), "services": [server.pk]}, format="json"
    )

    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["services"]


def test_agreements_filter_by_kind_status_service_and_organisation(as_manager, org_a):
    service = ServiceFactory()
    sla = AgreementFactory(kind=AgreementKind.SLA, services=[service], organisations=[org_a])
    ola = AgreementFactory(kind=AgreementKind.OLA, status=AgreementStatus.DRAFT)
    AgreementFactory(kind=AgreementKind.UC, status=AgreementStatus.EXPIRED)

    def ids(query):
        response = as_manager.get(url("agreement"), query)
        assert response.status_code == 200, response.json()
        return [row["id"] for row in response.json()["results"]]

    assert ids({"kind": "ola"}) == [ola.pk]
    assert ids({"status": "active"}) == [sla.pk]
    assert ids({"service": service.pk}) == [sla.pk]
    assert ids({"organisation": org_a.pk}) == [sla.pk]
    assert ids({"kind": ["sla", "ola"], "status": "draft"}) == [ola.pk]


def test_an_agreement_with_clocks_cannot_be_deleted(as_manager):
    clock = ClockFactory(record=IncidentFactory())
    agreement = clock.target.agreement

    response = as_manager.delete(url("agreement", agreement.pk))

    assert response.status_code == 409
    assert response.json()["code"] == "protected"
    assert Target.objects.filter(pk=clock.target_id).exists()


def test_an_unused_agreement_is_deleted_with_its_targets(as_manager):
    target = TargetFactory()

    response = as_manager.delete(url("agreement", target.agreement_id))

    assert response.status_code == 204
    assert not Target.objects.filter(pk=target.pk).exists()


# --- targets and their escalation actions ---------------------------------------------


def test_manager_creates_a_target_with_escalation_actions(as_manager, agent, org_a):
    agreement = AgreementFactory()
    calendar = office_hours_calendar()
    service = ServiceFactory()
    group = SupportGroupFactory(name="Second line")

    response = as_manager.post(
        url("target"),
        {
            "agreement": agreement.pk,
            "name": "P1 resolution",
            "metric": "resolution",
            "record_type": "incidents.incident",
            "priorities": [1, 2],
            "services": [service.pk],
            "organisations": [org_a.pk],
            "duration": "04:00:00",
            "calendar": calendar.pk,
            "pause_on": ["awaiting_customer"],
            "thresholds": [50, 75],
            "actions": [
                {"at_percent": 75, "action": "notify_users", "users": [agent.pk]},
                {"at_percent": 100, "action": "reassign_group", "group": group.pk},
            ],
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    target = Target.objects.get(pk=body["id"])
    assert (target.duration, target.calendar, target.priorities, target.pause_on) == (
        dt.timedelta(hours=4),
        calendar,
        [1, 2],
        ["awaiting_customer"],
    )
    assert body["duration"] == "04:00:00"
    actions = list(target.actions.order_by("at_percent"))
    assert [(a.at_percent, a.action, a.group_id) for a in actions] == [
        (75, "notify_users", None),
        (100, "reassign_group", group.pk),
    ]
    assert list(actions[0].users.all()) == [agent]
    assert [{k: a[k] for k in ("at_percent", "action", "users")} for a in body["actions"]] == [
        {"at_percent": 75, "action": "notify_users", "users": [agent.pk]},
        {"at_percent": 100, "action": "reassign_group", "users": []},
    ]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"calendar": None}, "calendar"),
        ({"duration": "00:00:00"}, "duration"),
        ({"thresholds": [50, 50, 90]}, "thresholds"),
        ({"thresholds": [0]}, "thresholds"),
        ({"record_type": "nothing.here"}, "record_type"),
        ({"priorities": [9]}, "priorities"),
        ({"metric": "availability"}, "availability_percent"),
    ],
)
def test_target_input_is_validated_like_the_model(as_manager, changes, field):
    response = as_manager.post(url("target"), {**_target_payload(), **changes}, format="json")

    assert response.status_code == 400
    assert list(response.json()["fields"]) == [field]
    assert not Target.objects.exists()


@pytest.mark.parametrize(
    ("action", "message"),
    [
        ({"at_percent": 60, "action": "notify_assignee"}, "60 % is neither a threshold"),
        ({"at_percent": 100, "action": "raise_priority"}, "Choose the priority to raise to."),
        ({"at_percent": 100, "action": "reassign_group"}, "Choose the group to reassign to."),
    ],
)
def test_a_bad_escalation_action_is_refused(as_manager, action, message):
    response = as_manager.post(
        url("target"), {**_target_payload(), "actions": [action]}, format="json"
    )

    assert response.status_code == 400
    fields = response.json()["fields"]
    assert list(fields) == ["actions"]
    assert fields["actions"][0].startswith(message)


def test_writing_actions_replaces_them_all(
    as_manager, recompute_calls, django_capture_on_commit_callbacks
):
    target = TargetFactory()
    old = EscalationActionFactory(target=target, at_percent=90)

    with django_capture_on_commit_callbacks(execute=True):
        response = as_manager.patch(
            url("target", target.pk),
            {"actions": [{"at_percent": 100, "action": "raise_priority", "priority": 1}]},
            format="json",
        )

    assert response.status_code == 200, response.json()
    assert not EscalationAction.objects.filter(pk=old.pk).exists()
    assert list(target.actions.values_list("at_percent", "action", "priority")) == [
        (100, "raise_priority", 1)
    ]
    assert recompute_calls == [{"target_id": target.pk}]


def test_a_bad_action_in_a_replacement_leaves_the_old_ones(as_manager, recompute_calls):
    target = TargetFactory(name="Before")
    old = [
        EscalationActionFactory(target=target, at_percent=50),
        EscalationActionFactory(target=target, at_percent=100),
    ]

    response = as_manager.put(
        url("target", target.pk),
        {
            **_target_payload(),
            "name": "After",
            "actions": [
                {"at_percent": 75, "action": "notify_assignee"},
                {"at_percent": 100, "action": "raise_priority"},
            ],
        },
        format="json",
    )

    assert response.status_code == 400
    assert list(target.actions.order_by("at_percent")) == old
    target.refresh_from_db()
    assert target.name == "Before"
    assert recompute_calls == []


def test_an_update_without_actions_keeps_them(as_manager, recompute_calls):
    target = TargetFactory()
    action = EscalationActionFactory(target=target)

    response = as_manager.patch(url("target", target.pk), {"name": "Renamed"}, format="json")

    assert response.status_code == 200
    assert list(target.actions.all()) == [action]
    assert [a["id"] for a in response.json()["actions"]] == [action.pk]


def test_a_target_update_recomputes_its_clocks_after_commit(
    as_manager, recompute_calls, django_capture_on_commit_callbacks
):
    target = TargetFactory()

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        as_manager.patch(url("target", target.pk), {"duration": "02:00:00"}, format="json")

    assert recompute_calls == []
    callbacks[-1]()
    assert recompute_calls == [{"target_id": target.pk}]


def test_targets_list_without_n_plus_one(as_manager, django_assert_max_num_queries):
    for _ in range(5):
        target = TargetFactory()
        EscalationActionFactory(target=target)

    with django_assert_max_num_queries(12):
        response = as_manager.get(url("target"))

    assert len(response.json()["results"]) == 5


# --- calendars and their days ----------------------------------------------------------


def test_manager_creates_a_calendar_with_hours_and_days(as_manager):
    response = as_manager.post(
        url("calendar"),
        {
            "name": "Shanghai office",
            "time_zone": "Asia/Shanghai",
            "holiday_country": "cn",
            "intervals": [
                {"weekday": 0, "start": "09:00", "end": "12:00"},
                {"weekday": 0, "start": "13:30", "end": "18:00"},
                {"weekday": 5, "start": "18:00", "end": "00:00"},
            ],
            "days": [
                {"date": "2026-10-01", "kind": "holiday", "name": "National Day"},
                {"date": "2026-09-27", "kind": "working_day", "hours_of": 0},
            ],
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    calendar = BusinessCalendar.objects.get(pk=body["id"])
    assert (calendar.holiday_country, calendar.version, calendar.is_24x7) == ("CN", 1, False)
    assert body["intervals"] == [
        {"weekday": 0, "start": "09:00:00", "end": "12:00:00"},
        {"weekday": 0, "start": "13:30:00", "end": "18:00:00"},
        {"weekday": 5, "start": "18:00:00", "end": "00:00:00"},
    ]
    assert list(calendar.days.values_list("date", "kind", "hours_of", "source")) == [
        (dt.date(2026, 9, 27), "working_day", 0, ""),
        (dt.date(2026, 10, 1), "holiday", 0, ""),
    ]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"time_zone": "Mars/Olympus_Mons"}, "time_zone"),
        ({"intervals": [{"weekday": 0, "start": "18:00", "end": "09:00"}]}, "intervals"),
        ({"intervals": [{"weekday": 7, "start": "09:00", "end": "17:00"}]}, "intervals"),
        (
            {
                "intervals": [
                    {"weekday": 1, "start": "09:00", "end": "13:00"},
                    {"weekday": 1, "start": "12:00", "end": "17:00"},
                ]
            },
            "intervals",
        ),
        (
            {
                "days": [
                    {"date": "2026-05-01", "kind": "holiday"},
                    {"date": "2026-05-01", "kind": "working_day"},
                ]
            },
            "days",
        ),
    ],
)
def test_calendar_input_is_validated(as_manager, changes, field):
    before = (BusinessCalendar.objects.count(), WorkingInterval.objects.count())

    response = as_manager.post(url("calendar"), {**_calendar_payload(), **changes}, format="json")

    assert response.status_code == 400
    assert list(response.json()["fields"]) == [field]
    assert (BusinessCalendar.objects.count(), WorkingInterval.objects.count()) == before


def test_interval_end_before_start_names_the_end(as_manager):
    response = as_manager.post(
        url("calendar"),
        {**_calendar_payload(), "intervals": [{"weekday": 0, "start": "18:00", "end": "09:00"}]},
        format="json",
    )

    assert response.json()["fields"] == {
        "intervals": ["The end must be after the start (00:00 means midnight)."]
    }


def test_a_calendar_change_bumps_its_version_and_recomputes_clocks(
    as_manager, recompute_calls, django_capture_on_commit_callbacks
):
    calendar = office_hours_calendar()

    with django_capture_on_commit_callbacks(execute=True):
        response = as_manager.patch(
            url("calendar", calendar.pk),
            {"intervals": [{"weekday": 2, "start": "08:00", "end": "16:00"}]},
            format="json",
        )

    assert response.status_code == 200, response.json()
    assert response.json()["version"] == 2
    calendar.refresh_from_db()
    assert calendar.version == 2
    assert list(calendar.intervals.values_list("weekday", "start", "end")) == [
        (2, dt.time(8), dt.time(16))
    ]
    assert recompute_calls == [{"calendar_id": calendar.pk}]


def test_a_calendar_used_by_a_target_cannot_be_deleted(as_manager):
    target = TargetFactory()

    response = as_manager.delete(url("calendar", target.calendar_id))

    assert response.status_code == 409
    assert BusinessCalendar.objects.filter(pk=target.calendar_id).exists()


def test_calendar_day_writes_bump_the_calendar_version(
    as_manager, recompute_calls, django_capture_on_commit_callbacks
):
    calendar = office_hours_calendar()

    with django_capture_on_commit_callbacks(execute=True):
        created = as_manager.post(
            url("calendar-day"),
            {"calendar": calendar.pk, "date": "2026-12-24", "kind": "holiday", "name": "Eve"},
            format="json",
        )
        day_id = created.json()["id"]
        changed = as_manager.patch(url("calendar-day", day_id), {"name": "Christmas Eve"})
        deleted = as_manager.delete(url("calendar-day", day_id))

    assert (created.status_code, changed.status_code, deleted.status_code) == (201, 200, 204)
    assert created.json() == {
        "id": day_id,
        "calendar": calendar.pk,
        "date": "2026-12-24",
        "kind": "holiday",
        "name": "Eve",
        "hours_of": 0,
        "source": "",
    }
    calendar.refresh_from_db()
    assert calendar.version == 4
    assert recompute_calls == [{"calendar_id": calendar.pk}] * 3


def test_a_date_appears_once_per_calendar(as_manager):
    day = CalendarDayFactory(date=dt.date(2026, 5, 1))

    response = as_manager.post(
        url("calendar-day"),
        {"calendar": day.calendar_id, "date": "2026-05-01", "kind": "holiday"},
        format="json",
    )

    assert response.status_code == 400
    assert CalendarDay.objects.filter(calendar=day.calendar).count() == 1


def test_calendar_days_filter_by_calendar_and_year(as_manager):
    calendar, other = office_hours_calendar(), office_hours_calendar()
    day_2026 = CalendarDayFactory(calendar=calendar, date=dt.date(2026, 10, 1))
    CalendarDayFactory(calendar=calendar, date=dt.date(2027, 10, 1))
    CalendarDayFactory(calendar=other, date=dt.date(2026, 10, 2))

    response = as_manager.get(url("calendar-day"), {"calendar": calendar.pk, "year": 2026})

    assert [row["id"] for row in response.json()["results"]] == [day_2026.pk]


# --- service outages ---------------------------------------------------------------------


def test_manager_records_an_outage_of_a_service(as_manager, manager):
    service = ServiceFactory(name="Online shop")
    incident = IncidentFactory()

    response = as_manager.post(
        url("outage"),
        {
            "service": service.pk,
            "started_at": "2026-03-02T10:00:00Z",
            "incident": incident.pk,
            "description": "Payment gateway down",
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    outage = ServiceOutage.objects.get()
    body = response.json()
    assert {k: body[k] for k in ("service", "service_name", "ended_at", "is_planned")} == {
        "service": service.pk,
        "service_name": "Online shop",
        "ended_at": None,
        "is_planned": False,
    }
    assert (body["incident_number"], body["created_by"]) == (incident.number, manager.username)
    assert (outage.started_at, outage.created_by) == (
        dt.datetime(2026, 3, 2, 10, tzinfo=dt.UTC),
        manager,
    )


def test_an_outage_is_ended_through_the_api(as_manager):
    outage = ServiceOutageFactory(
        started_at=dt.datetime(2026, 3, 2, 10, tzinfo=dt.UTC), ended_at=None
    )

    response = as_manager.patch(
        url("outage", outage.pk),
        {"ended_at": "2026-03-02T10:45:00Z", "description": "Restarted"},
        format="json",
    )
    again = as_manager.patch(
        url("outage", outage.pk), {"ended_at": "2026-03-02T11:00:00Z"}, format="json"
    )

    assert response.status_code == 200, response.json()
    outage.refresh_from_db()
    assert (outage.ended_at, outage.description) == (
        dt.datetime(2026, 3, 2, 10, 45, tzinfo=dt.UTC),
        "Restarted",
    )
    assert (again.status_code, again.json()["code"]) == (409, "outage_already_ended")


def test_overlapping_outages_and_outages_of_non_services_are_refused(as_manager):
    from tests.config_items.factories import ConfigurationItemFactory

    existing = ServiceOutageFactory()
    overlapping = as_manager.post(
        url("outage"),
        {
            "service": existing.service_id,
            "started_at": existing.started_at.isoformat(),
            "ended_at": existing.ended_at.isoformat(),
        },
        format="json",
    )
    server = as_manager.post(
        url("outage"),
        {"service": ConfigurationItemFactory().pk, "started_at": "2026-03-02T10:00:00Z"},
        format="json",
    )

    assert (overlapping.status_code, overlapping.json()["code"]) == (409, "outage_overlaps")
    assert (server.status_code, list(server.json()["fields"])) == (400, ["service"])
    assert ServiceOutage.objects.count() == 1


def test_outages_filter_by_service_period_and_kind(as_manager):
    shop, mail = ServiceFactory(), ServiceFactory()

    def at(day, hour=0):
        return dt.datetime(2026, 3, day, hour, tzinfo=dt.UTC)

    march_2 = ServiceOutageFactory(service=shop, started_at=at(2), ended_at=at(2, 1))
    march_5 = ServiceOutageFactory(service=shop, started_at=at(5), ended_at=None)
    planned = ServiceOutageFactory(
        service=shop, started_at=at(3), ended_at=at(3, 4), is_planned=True
    )
    ServiceOutageFactory(service=mail, started_at=at(2), ended_at=at(2, 1))

    def ids(query):
        response = as_manager.get(url("outage"), {"service": shop.pk, **query})
        assert response.status_code == 200, response.json()
        return sorted(row["id"] for row in response.json()["results"])

    assert ids({}) == sorted([march_2.pk, march_5.pk, planned.pk])
    assert ids({"from": "2026-03-03T00:00:00Z"}) == sorted([march_5.pk, planned.pk])
    assert ids({"to": "2026-03-03T00:00:00Z"}) == [march_2.pk]
    assert ids({"is_planned": "true"}) == [planned.pk]
    assert ids({"from": "2026-03-06T00:00:00Z", "is_planned": "false"}) == [march_5.pk]


def test_manager_deletes_an_outage_recorded_by_mistake(as_manager):
    outage = ServiceOutageFactory()

    response = as_manager.delete(url("outage", outage.pk))

    assert response.status_code == 204
    assert not ServiceOutage.objects.filter(pk=outage.pk).exists()


# --- clocks ------------------------------------------------------------------------------


def test_clocks_filter_by_record(as_manager):
    incident, other = IncidentFactory(), IncidentFactory()
    mine = ClockFactory(record=incident)
    ClockFactory(record=other)

    response = as_manager.get(
        url("clock"), {"record_type": "incidents.incident", "record_id": incident.pk}
    )
    unknown = as_manager.get(url("clock"), {"record_type": "nothing.here"})

    assert [row["id"] for row in response.json()["results"]] == [mine.pk]
    assert response.json()["results"][0]["record_type"] == "incidents.incident"
    assert response.json()["results"][0]["record_id"] == incident.pk
    assert unknown.json()["results"] == []


def test_clocks_filter_by_state_metric_kind_target_and_breach(as_manager):
    incident = IncidentFactory()
    running = ClockFactory(record=incident)
    breached = ClockFactory(
        record=IncidentFactory(),
        state=ClockState.BREACHED,
        breached_at=timezone.now(),
        stopped_at=timezone.now(),
    )

    def ids(query):
        response = as_manager.get(url("clock"), query)
        assert response.status_code == 200, response.json()
        return [row["id"] for row in response.json()["results"]]

    assert ids({"breached": "true"}) == [breached.pk]
    assert ids({"breached": "false"}) == [running.pk]
    assert ids({"state": "running"}) == [running.pk]
    assert ids({"target": breached.target_id}) == [breached.pk]
    assert ids({"metric": "response"}) == []
    assert ids({"kind": "sla", "metric": "resolution", "state": ["running", "breached"]}) == [
        breached.pk,
        running.pk,
    ]


def test_a_paused_clock_shows_exactly_what_is_left(as_manager):
    calendar = office_hours_calendar(name="Berlin office")
    target = TargetFactory(name="P1 resolution", calendar=calendar, agreement__name="Gold")
    started = timezone.now() - dt.timedelta(days=3)
    clock = ClockFactory(
        record=IncidentFactory(),
        target=target,
        state=ClockState.PAUSED,
        started_at=started,
        elapsed=dt.timedelta(hours=1, minutes=30),
        segment_started_at=None,
        paused_at=started + dt.timedelta(days=1),
        pause_reason="awaiting_customer",
        match_reason={"rule": "most specific"},
    )

    body = as_manager.get(url("clock")).json()["results"][0]

    assert {
        k: body[k]
        for k in (
            "id",
            "target_name",
            "agreement",
            "calendar_name",
            "match_reason",
            "target_seconds",
            "elapsed_seconds",
            "remaining_seconds",
            "pause_reason",
        )
    } == {
        "id": clock.pk,
        "target_name": "P1 resolution",
        "agreement": {"id": target.agreement_id, "kind": "sla", "name": "Gold"},
        "calendar_name": "Berlin office",
        "match_reason": {"rule": "most specific"},
        "target_seconds": 4 * 3600,
        "elapsed_seconds": 5400,
        "remaining_seconds": 4 * 3600 - 5400,
        "pause_reason": "awaiting_customer",
    }


def test_a_clock_shows_its_next_threshold_due_until_it_pauses(as_manager):
    TargetFactory(pause_on=[PauseReason.CUSTOMER])  # 4 h on 24x7, warnings at 50/75/90 %
    incident = IncidentFactory()
    start = timezone.now() - dt.timedelta(hours=1)
    sla_services.sla_record_start(record=incident, actor=None, at=start)
    clock = Clock.objects.get()

    before = as_manager.get(url("clock", clock.pk)).json()["due_at"]
    sla_services.sla_record_pause(record=incident, reason=PauseReason.CUSTOMER, actor=None)
    after = as_manager.get(url("clock")).json()["results"][0]["due_at"]

    assert dt.datetime.fromisoformat(before) == start + dt.timedelta(hours=2)
    assert after is None


def test_a_running_clock_counts_business_time_up_to_now(as_manager):
    clock = ClockFactory(
        record=IncidentFactory(),
        started_at=timezone.now() - dt.timedelta(hours=5),
        elapsed=dt.timedelta(0),
    )

    body = as_manager.get(url("clock", clock.pk)).json()

    # 24x7: five hours have counted (give or take the request's own second).
    assert 5 * 3600 <= body["elapsed_seconds"] <= 5 * 3600 + 5
    assert body["remaining_seconds"] == 4 * 3600 - body["elapsed_seconds"]
    assert body["remaining_seconds"] < 0


def test_a_running_clock_outside_working_hours_counts_nothing_more(as_manager):
    idle = BusinessCalendarFactory(is_24x7=False, name="No working hours")
    clock = ClockFactory(
        record=IncidentFactory(),
        target=TargetFactory(calendar=idle),
        calendar=idle,
        started_at=timezone.now() - dt.timedelta(hours=5),
        elapsed=dt.timedelta(minutes=20),
    )

    body = as_manager.get(url("clock", clock.pk)).json()

    assert (body["elapsed_seconds"], body["remaining_seconds"]) == (1200, 4 * 3600 - 1200)


def test_a_stopped_clock_has_nothing_left_and_its_history_on_retrieve(as_manager, manager):
    clock = ClockFactory(
        record=IncidentFactory(),
        state=ClockState.MET,
        started_at=timezone.now() - dt.timedelta(hours=3),
        elapsed=dt.timedelta(hours=2),
        stopped_at=timezone.now(),
        segment_started_at=None,
    )
    ClockEventFactory(clock=clock, kind=ClockEventKind.STARTED)
    ClockEventFactory(
        clock=clock,
        kind=ClockEventKind.MET,
        occurred_at=clock.stopped_at,
        elapsed=dt.timedelta(hours=2),
        reason="resolved",
        actor=manager,
    )

    body = as_manager.get(url("clock", clock.pk)).json()

    assert (body["elapsed_seconds"], body["remaining_seconds"]) == (7200, None)
    assert [(e["kind"], e["elapsed_seconds"], e["actor"]) for e in body["events"]] == [
        ("started", 0, None),
        ("met", 7200, manager.username),
    ]
    assert "events" not in as_manager.get(url("clock")).json()["results"][0]


def test_clock_list_queries_do_not_grow_with_clocks(as_manager, django_assert_max_num_queries):
    calendar = office_hours_calendar()
    target = TargetFactory(calendar=calendar)
    for _ in range(6):
        ClockFactory(record=IncidentFactory(), target=target)

    with django_assert_max_num_queries(8):
        response = as_manager.get(url("clock"))

    assert len(response.json()["results"]) == 6


def test_customers_never_see_clocks(api_client, customer_a):
    ClockFactory(record=IncidentFactory(organisation=OrganisationFactory()))
    api_client.force_authenticate(customer_a)

    response = api_client.get(url("clock"))

    assert response.status_code == 403
    assert Clock.objects.count() == 1
