"""The SLA admin: definitions are edited here, clocks are only browsed."""

import datetime as dt

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from sla.choices import CalendarDayKind, ClockEventKind
from sla.models import BusinessCalendar, CalendarDay, Clock, EscalationAction, Target
from sla.tasks import clocks_recompute_task
from tests.incidents.factories import IncidentFactory
from tests.sla.factories import (
    AgreementFactory,
    ClockEventFactory,
    ClockFactory,
    EscalationActionFactory,
    TargetFactory,
    office_hours_calendar,
)


@pytest.fixture
def admin_client(client, administrator):
    client.force_login(administrator)
    return client


@pytest.fixture
def recompute_calls(monkeypatch):
    calls = []
    monkeypatch.setattr(clocks_recompute_task, "delay", lambda **kwargs: calls.append(kwargs))
    return calls


def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def _inline(prefix: str, rows: list[dict], initial: int = 0) -> dict:
    data = {
        f"{prefix}-TOTAL_FORMS": str(len(rows)),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }
    for index, row in enumerate(rows):
        data.update({f"{prefix}-{index}-{key}": value for key, value in row.items()})
    return data


def test_admin_pages_render_for_the_administrator(admin_client):
    target = TargetFactory(calendar=office_hours_calendar())
    EscalationActionFactory(target=target)
    clock = ClockFactory(record=IncidentFactory(), target=target)
    ClockEventFactory(clock=clock)

    urls = [
        reverse("admin:sla_agreement_changelist"),
        reverse("admin:sla_agreement_add"),
        reverse("admin:sla_agreement_change", args=[target.agreement_id]),
        reverse("admin:sla_target_changelist"),
        reverse("admin:sla_target_add"),
        reverse("admin:sla_target_change", args=[target.pk]),
        reverse("admin:sla_businesscalendar_changelist"),
        reverse("admin:sla_businesscalendar_add"),
        reverse("admin:sla_businesscalendar_change", args=[target.calendar_id]),
        reverse("admin:sla_clock_changelist"),
        reverse("admin:sla_clock_change", args=[clock.pk]),
        reverse("admin:sla_clock_changelist") + f"?q={clock.object_id}",
        reverse("admin:sla_clock_changelist") + "?q=P1+resolution",
    ]

    assert {u: admin_client.get(u).status_code for u in urls} == dict.fromkeys(urls, 200)


def test_the_agreement_page_links_its_targets(admin_client):
    target = TargetFactory(name="P1 resolution")

    response = admin_client.get(reverse("admin:sla_agreement_change", args=[target.agreement_id]))

    assert reverse("admin:sla_target_change", args=[target.pk]) in response.content.decode()


def test_clocks_cannot_be_added_changed_or_deleted_in_the_admin(admin_client):
    clock = ClockFactory(record=IncidentFactory())
    ClockEventFactory(clock=clock, kind=ClockEventKind.STARTED)
    change_url = reverse("admin:sla_clock_change", args=[clock.pk])

    page = admin_client.get(change_url)
    answers = [
        admin_client.get(reverse("admin:sla_clock_add")).status_code,
        admin_client.post(change_url, {"state": "met"}).status_code,
        admin_client.post(reverse("admin:sla_clock_delete", args=[clock.pk])).status_code,
    ]

    assert answers == [403, 403, 403]
    assert page.context["has_change_permission"] is False
    assert "Started" in page.content.decode()
    clock.refresh_from_db()
    assert clock.state == "running"
    assert Clock.objects.count() == 1


def _calendar_form(calendar: BusinessCalendar, intervals: list[dict], **changes) -> dict:
    data = {
        "name": calendar.name,
        "description": calendar.description,
        "time_zone": calendar.time_zone,
        "holiday_country": calendar.holiday_country,
        **changes,
    }
    data.update(_inline("intervals", intervals))
    data.update(_inline("days", []))
    return data


def test_a_calendar_saved_in_the_admin_bumps_its_version(
    admin_client, recompute_calls, django_capture_on_commit_callbacks
):
    calendar = office_hours_calendar()
    calendar.intervals.all().delete()
    url = reverse("admin:sla_businesscalendar_change", args=[calendar.pk])

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            url, _calendar_form(calendar, [{"weekday": "0", "start": "08:00", "end": "00:00"}])
        )

    assert response.status_code == 302, response.context["adminform"].form.errors
    calendar.refresh_from_db()
    assert calendar.version == 2
    assert list(calendar.intervals.values_list("weekday", "start", "end")) == [
        (0, dt.time(8), dt.time(0))
    ]
    assert recompute_calls == [{"calendar_id": calendar.pk}]


def test_the_admin_refuses_an_interval_ending_before_it_starts(admin_client):
    calendar = office_hours_calendar()
    calendar.intervals.all().delete()
    url = reverse("admin:sla_businesscalendar_change", args=[calendar.pk])

    response = admin_client.post(
        url, _calendar_form(calendar, [{"weekday": "0", "start": "18:00", "end": "09:00"}])
    )

    assert response.status_code == 200
    errors = response.context["inline_admin_formsets"][0].formset.errors
    assert errors == [{"end": ["The end must be after the start (00:00 means midnight)."]}]
    calendar.refresh_from_db()
    assert calendar.version == 1


def test_the_admin_refuses_an_unknown_time_zone(admin_client):
    calendar = office_hours_calendar()
    calendar.intervals.all().delete()

    response = admin_client.post(
        reverse("admin:sla_businesscalendar_change", args=[calendar.pk]),
        _calendar_form(calendar, [], time_zone="Mars/Olympus_Mons"),
    )

    assert response.status_code == 200
    assert list(response.context["adminform"].form.errors) == ["time_zone"]


def _target_form(target: Target, actions: list[dict], **changes) -> dict:
    data = {
        "agreement": target.agreement_id,
        "name": target.name,
        "metric": target.metric,
        "is_active": "on",
        "record_type": "incidents.incident",
        "priorities": ["1", "2"],
        "duration": "02:00:00",
        "calendar": target.calendar_id,
        "pause_on": ["awaiting_customer"],
        "availability_percent": "",
        "thresholds": "50,75",
        **changes,
    }
    data.update(_inline("actions", actions))
    return data


def test_a_target_saved_in_the_admin_recomputes_its_clocks(
    admin_client, recompute_calls, django_capture_on_commit_callbacks
):
    target = TargetFactory()
    url = reverse("admin:sla_target_change", args=[target.pk])

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            url, _target_form(target, [{"at_percent": "75", "action": "notify_assignee"}])
        )

    assert response.status_code == 302, response.context["adminform"].form.errors
    target.refresh_from_db()
    assert (target.duration, target.priorities, target.pause_on, target.thresholds) == (
        dt.timedelta(hours=2),
        [1, 2],
        ["awaiting_customer"],
        [50, 75],
    )
    assert list(target.actions.values_list("at_percent", "action")) == [(75, "notify_assignee")]
    assert recompute_calls == [{"target_id": target.pk}]


@pytest.mark.parametrize(
    ("changes", "field"),
    [({"calendar": ""}, "calendar"), ({"thresholds": "50,50"}, "thresholds")],
)
def test_the_admin_runs_the_target_rules(admin_client, recompute_calls, changes, field):
    target = TargetFactory()

    response = admin_client.post(
        reverse("admin:sla_target_change", args=[target.pk]),
        _target_form(target, [], **changes),
    )

    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    assert recompute_calls == []


def test_the_admin_refuses_an_action_at_no_threshold(admin_client):
    target = TargetFactory()

    response = admin_client.post(
        reverse("admin:sla_target_change", args=[target.pk]),
        _target_form(target, [{"at_percent": "60", "action": "notify_assignee"}]),
    )

    assert response.status_code == 200
    errors = response.context["inline_admin_formsets"][0].formset.errors
    assert errors == [{"at_percent": ["60 % is neither a threshold of the target nor 100."]}]
    assert not EscalationAction.objects.filter(target=target).exists()


def test_import_public_holidays_action(admin_client, recompute_calls):
    calendar = office_hours_calendar(holiday_country="CN", name="Shanghai")
    plain = office_hours_calendar(name="No country")
    year = timezone.localdate().year

    response = admin_client.post(
        reverse("admin:sla_businesscalendar_changelist"),
        {"action": "import_public_holidays", "_selected_action": [calendar.pk, plain.pk]},
        follow=True,
    )

    assert response.status_code == 200
    days = CalendarDay.objects.filter(calendar=calendar)
    assert days.filter(date=dt.date(year, 10, 1), kind=CalendarDayKind.HOLIDAY).exists()
    assert days.filter(date__year=year + 1).exists()
    assert not CalendarDay.objects.filter(calendar=plain).exists()
    messages = _messages(response)
    assert messages == [
        "The calendar No country names no country for public holidays.",
        f"Shanghai: {days.count()} days imported or updated.",
    ]
    calendar.refresh_from_db()
    assert calendar.version == 2


def test_the_agreement_admin_filters_by_kind_and_status(admin_client):
    AgreementFactory(name="Gold SLA")
    AgreementFactory(name="Desk OLA", kind="ola", status="draft")

    response = admin_client.get(
        reverse("admin:sla_agreement_changelist"), {"kind__exact": "ola", "q": "Desk"}
    )

    assert [a.name for a in response.context["cl"].result_list] == ["Desk OLA"]
