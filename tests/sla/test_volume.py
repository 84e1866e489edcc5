"""The SLA volume seeder (seed_volume --clocks / --closed-clocks): a small volume whose
rows are consistent with what the engine would have written."""

import datetime as dt
from collections import Counter

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone

from core.volume import volume_seed
from incidents.choices import OPEN_STATUSES
from incidents.models import Incident
from sla.business_time import business_add
from sla.calendars import calendar_spec_load
from sla.models import AttainmentRollup, BusinessCalendar, Clock, ClockDue, ClockEvent
from sla.services import clock_tick
from sla.volume import sla_volume_seed
from tests.sla.fired import dues_of, fired_deliver

pytestmark = pytest.mark.django_db

RUNNING = 240
STOPPED = 320


@pytest.fixture
def seeded(roles):
    volume_seed(organisations=6, users=80, groups=4, seed=1)
    before = timezone.now()
    result = sla_volume_seed(clocks=RUNNING, closed_clocks=STOPPED, seed=3, analyze=False)
    return before, result


def test_the_seeder_reports_what_it_added(seeded):
    _before, result = seeded
    assert result["running clocks"] == RUNNING
    assert result["clock events"] == RUNNING
    assert result["closed clocks"] == STOPPED
    assert result["open incidents added"] == RUNNING // 4
    assert result["closed incidents added"] == STOPPED // 4
    assert result["attainment rollups"] == AttainmentRollup.objects.count()


def test_running_clocks_have_their_pending_thresholds_due_in_order(seeded):
    before, _result = seeded
    clocks = list(Clock.objects.filter(state="running"))
    assert len(clocks) == RUNNING
    with_pending = 0
    for clock in clocks:
        dues = dues_of(clock)
        percents = [percent for percent, _due in dues]
        moments = [due for _percent, due in dues]
        assert set(percents) <= {50, 75, 90, 100}
        assert moments == sorted(moments)
        assert clock.elapsed == dt.timedelta(0)
        assert clock.segment_started_at == clock.started_at
        if dues:
            with_pending += 1
            assert moments[0] > before
        if 100 in percents:
            assert clock.deadline_at == moments[-1]
            assert clock.breached_at is None
        else:
            # Past the deadline already: breached, still running until stopped.
            assert clock.breached_at == clock.deadline_at
            assert clock.deadline_at <= timezone.now()
    assert 0 < with_pending < RUNNING


def test_pending_moments_are_the_business_time_moments_of_the_thresholds(seeded):
    specs = {c.pk: calendar_spec_load(c) for c in BusinessCalendar.objects.all()}
    clocks = Clock.objects.filter(state="running").select_related("calendar")
    calendars = Counter()
    for clock in clocks:
        calendars[clock.calendar.is_24x7] += 1
        spec = specs[clock.calendar_id]
        for percent, moment in dues_of(clock):
            goal = clock.target_duration * percent / 100
            assert moment == business_add(spec, clock.started_at, goal), (clock.pk, percent)
        assert clock.deadline_at == business_add(spec, clock.started_at, clock.target_duration)
    # Both kinds of calendars are exercised.
    assert calendars[True] and calendars[False]


def test_each_open_incident_has_four_live_clocks_a_started_event_each_and_its_due(seeded):
    content_type = ContentType.objects.get_for_model(Incident)
    per_incident = Counter(
        Clock.objects.filter(state="running").values_list("object_id", flat=True)
    )
    assert set(per_incident.values()) == {4}
    incidents = Incident.objects.filter(pk__in=list(per_incident))
    assert incidents.count() == len(per_incident)
    assert incidents.exclude(status__in=OPEN_STATUSES).count() == 0
    kinds = Counter(
        Clock.objects.filter(state="running").values_list("kind", "metric", "content_type_id")
    )
    assert kinds == {
        ("sla", "response", content_type.pk): RUNNING // 4,
        ("sla", "resolution", content_type.pk): RUNNING // 4,
        ("ola", "response", content_type.pk): RUNNING // 4,
        ("ola", "resolution", content_type.pk): RUNNING // 4,
    }
    events = ClockEvent.objects.filter(clock__state="running")
    assert events.count() == RUNNING
    assert events.filter(kind="started").count() == RUNNING
    for event in events.select_related("clock"):
        assert event.occurred_at == event.clock.started_at
        assert event.data == {
            "target": event.clock.target_id,
            "calendar": event.clock.calendar_id,
        }
    for incident in incidents:
        deadlines = Clock.objects.filter(
            content_type=content_type, object_id=incident.pk, state="running"
        ).values_list("deadline_at", flat=True)
        assert incident.sla_due_at == min(deadlines)


def test_stopped_clocks_are_met_or_breached_by_their_elapsed_time_within_twelve_months(seeded):
    stopped = Clock.objects.exclude(state__in=["running", "paused"])
    assert stopped.count() == STOPPED
    assert set(stopped.values_list("state", flat=True)) == {"met", "breached"}
    now = timezone.now()
    for clock in stopped:
        assert (clock.state == "breached") == (clock.elapsed > clock.target_duration)
        assert not ClockDue.objects.filter(clock=clock).exists()
        assert now - dt.timedelta(days=366) < clock.stopped_at <= now
        assert clock.started_at <= clock.stopped_at
    incidents = Incident.objects.filter(pk__in=stopped.values("object_id"))
    assert incidents.count() == STOPPED // 4
    assert set(incidents.values_list("status", flat=True)) <= {"resolved", "closed"}


def test_rollups_equal_a_group_by_over_the_stopped_clocks(seeded):
    grouped = (
        Clock.objects.filter(state__in=["met", "breached"])
        .annotate(month=TruncMonth("stopped_at", tzinfo=dt.UTC))
        .values(
            "month",
            "target_id",
            "kind",
            "metric",
            "service_id",
            "organisation_id",
            "support_group_id",
            "priority",
        )
        .annotate(
            met=Count("pk", filter=Q(state="met")),
            breached=Count("pk", filter=Q(state="breached")),
            elapsed_total=Sum("elapsed"),
        )
        .order_by()
    )
    expected = {
        (
            row["month"].date(),
            row["target_id"],
            row["kind"],
            row["metric"],
            "incidents.incident",
            row["service_id"],
            row["organisation_id"],
            row["support_group_id"],
            row["priority"],
        ): (row["met"], row["breached"], row["elapsed_total"])
        for row in grouped
    }
    actual = {
        (
            r.month,
            r.target_id,
            r.kind,
            r.metric,
            r.record_type,
            r.service_id,
            r.organisation_id,
            r.support_group_id,
            r.priority,
        ): (r.met, r.breached, r.elapsed_total)
        for r in AttainmentRollup.objects.all()
    }
    assert actual == expected
    assert sum(met + breached for met, breached, _e in actual.values()) == STOPPED
    # Over several months.
    assert len({key[0] for key in actual}) >= 6


def test_the_tick_marks_exactly_the_seeded_thresholds_that_are_due(seeded):
    dues = sorted(ClockDue.objects.values_list("due_at", "clock_id", "percent"))
    moment = dues[len(dues) // 3][0]
    expected = sorted((clock, percent) for due, clock, percent in dues if due <= moment)
    assert len({clock for clock, _percent in expected}) < len(expected)  # some twice

    assert clock_tick(now=moment, batch=50) == len(expected)

    assert not ClockDue.objects.filter(due_at__lte=moment).exists()
    assert ClockDue.objects.count() == len(dues) - len(expected)
    fired_deliver()
    fired = ClockEvent.objects.filter(kind__in=["warning", "breached"])
    assert sorted(fired.values_list("clock_id", "percent")) == expected
