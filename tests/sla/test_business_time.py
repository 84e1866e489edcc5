"""Business-time arithmetic (sla.business_time): hand-computed cases for DST changes,
China's 2026 holidays and make-up working days, lunch breaks and 24x7, plus property
tests that adding then measuring round-trips, that measuring is additive (so pauses
never count) and that the server time zone never matters."""

import os
import time as time_module
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sla.business_time import SEARCH_LIMIT_DAYS, CalendarSpec, business_add, business_time

H = timedelta(hours=1)
MONDAY_TO_FRIDAY = range(5)
BERLIN = ZoneInfo("Europe/Berlin")
SHANGHAI = ZoneInfo("Asia/Shanghai")

BERLIN_OFFICE = CalendarSpec(
    time_zone="Europe/Berlin", weekly={d: ((time(8), time(17)),) for d in MONDAY_TO_FRIDAY}
)
NEW_YORK_OFFICE = CalendarSpec(
    time_zone="America/New_York", weekly={d: ((time(9), time(17)),) for d in MONDAY_TO_FRIDAY}
)
NEW_YORK_ALL_DAY = CalendarSpec(
    time_zone="America/New_York", weekly={d: ((time(0), time(0)),) for d in range(7)}
)
# Every night 01:00-04:00: the hours that DST changes in Europe/Berlin.
BERLIN_NIGHTS = CalendarSpec(
    time_zone="Europe/Berlin", weekly={d: ((time(1), time(4)),) for d in range(7)}
)
CHINA_OFFICE_HOURS = ((time(9), time(12)), (time(13, 30), time(18)))
# China 2026 as the State Council announced it (checked against chinesecalendar 1.11).
CHINA_HOLIDAYS_2026 = [date(2026, 1, 1) + timedelta(days=n) for n in range(3)] + [
    *(date(2026, 2, 15) + timedelta(days=n) for n in range(9)),
    *(date(2026, 4, 4) + timedelta(days=n) for n in range(3)),
    *(date(2026, 5, 1) + timedelta(days=n) for n in range(5)),
    *(date(2026, 6, 19) + timedelta(days=n) for n in range(3)),
    *(date(2026, 9, 25) + timedelta(days=n) for n in range(3)),
    *(date(2026, 10, 1) + timedelta(days=n) for n in range(7)),
]
CHINA_WORKDAYS_2026 = [
    date(2026, 1, 4),
    date(2026, 2, 14),
    date(2026, 2, 28),
    date(2026, 5, 9),
    date(2026, 9, 20),
    date(2026, 10, 10),
]
CHINA_2026 = CalendarSpec(
    time_zone="Asia/Shanghai",
    weekly=dict.fromkeys(MONDAY_TO_FRIDAY, CHINA_OFFICE_HOURS),
    days={
        **dict.fromkeys(CHINA_HOLIDAYS_2026, ()),
        **dict.fromkeys(CHINA_WORKDAYS_2026, CHINA_OFFICE_HOURS),
    },
)
TWENTY_FOUR_SEVEN = CalendarSpec(time_zone="Asia/Shanghai", is_24x7=True)
# Odd boundaries: microseconds, an interval starting inside the spring-forward gap,
# intervals that overlap once mapped to instants, an extra working Sunday.
ODD = CalendarSpec(
    time_zone="Europe/Berlin",
    weekly={
        0: ((time(8, 0, 0, 500_000), time(8, 0, 1, 250_001)), (time(22), time(0))),
        2: ((time(2, 30), time(3, 15)),),
        6: ((time(0), time(2, 30)), (time(3), time(4))),
    },
    days={date(2026, 3, 29): ((time(2, 30), time(5)),), date(2026, 6, 7): ((time(12), time(13)),)},
)
SPECS = [
    BERLIN_OFFICE,
    NEW_YORK_OFFICE,
    NEW_YORK_ALL_DAY,
    BERLIN_NIGHTS,
    CHINA_2026,
    TWENTY_FOUR_SEVEN,
    ODD,
]


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def local(zone: ZoneInfo, *args, fold: int = 0) -> datetime:
    return datetime(*args, tzinfo=zone, fold=fold)


# --- DST in Europe/Berlin (2026-03-29 02:00 CET -> 03:00 CEST; 2026-10-25 03:00 -> 02:00)


def test_spring_forward_night_interval_lasts_two_hours():
    assert business_time(BERLIN_NIGHTS, utc(2026, 3, 28, 12), utc(2026, 3, 29, 12)) == 2 * H


def test_fall_back_night_interval_lasts_four_hours():
    assert business_time(BERLIN_NIGHTS, utc(2026, 10, 24, 12), utc(2026, 10, 25, 12)) == 4 * H


def test_adding_across_spring_forward_skips_the_missing_hour():
    start = local(BERLIN, 2026, 3, 29, 1)  # 00:00 UTC

    assert business_add(BERLIN_NIGHTS, start, H) == utc(2026, 3, 29, 1)  # 03:00 CEST
    assert business_add(BERLIN_NIGHTS, start, 2 * H) == utc(2026, 3, 29, 2)  # 04:00 CEST
    assert business_add(BERLIN_NIGHTS, start, 2 * H + timedelta(microseconds=1)) == utc(
        2026, 3, 29, 23, 0, 0, 1
    )  # 01:00:00.000001 CEST on the next night


def test_adding_across_fall_back_counts_the_repeated_hour_twice():
    start = local(BERLIN, 2026, 10, 25, 1)  # 01:00 CEST = 23:00 UTC the day before

    assert business_add(BERLIN_NIGHTS, start, 3 * H) == utc(2026, 10, 25, 2)  # 03:00 CET
    assert business_add(BERLIN_NIGHTS, start, 4 * H) == utc(2026, 10, 25, 3)  # 04:00 CET


def test_office_hours_over_the_spring_forward_weekend():
    friday_4pm = local(BERLIN, 2026, 3, 27, 16)

    deadline = business_add(BERLIN_OFFICE, friday_4pm, 2 * H)

    assert deadline == local(BERLIN, 2026, 3, 30, 9) == utc(2026, 3, 30, 7)
    assert business_time(BERLIN_OFFICE, friday_4pm, deadline) == 2 * H


def test_office_hours_over_the_fall_back_weekend():
    friday_4pm = local(BERLIN, 2026, 10, 23, 16)

    assert business_add(BERLIN_OFFICE, friday_4pm, 2 * H) == utc(2026, 10, 26, 8)  # 09:00 CET


def test_interval_starting_in_the_spring_forward_gap_starts_after_it():
    # 02:30 does not exist on 2026-03-29: read with the old offset, i.e. 03:30 CEST.
    assert business_time(ODD, utc(2026, 3, 28, 12), utc(2026, 3, 29, 12)) == timedelta(
        hours=1, minutes=30
    )
    assert business_add(ODD, utc(2026, 3, 29), timedelta(minutes=1)) == utc(2026, 3, 29, 1, 31)


def test_interval_starting_in_the_repeated_hour_starts_at_its_first_occurrence():
    spec = CalendarSpec(time_zone="Europe/Berlin", weekly={6: ((time(2, 30), time(5)),)})

    assert business_time(spec, utc(2026, 10, 24, 12), utc(2026, 10, 25, 12)) == timedelta(
        hours=3, minutes=30
    )
    assert business_add(spec, utc(2026, 10, 24, 12), timedelta(minutes=1)) == utc(
        2026, 10, 25, 0, 31
    )


def test_intervals_overlapping_after_the_gap_count_once():
    # Sunday 00:00-02:30 and 03:00-04:00 on 2026-03-08 (no DST) and 2026-03-29 (DST).
    spec = CalendarSpec(
        time_zone="Europe/Berlin", weekly={6: ((time(0), time(2, 30)), (time(3), time(4)))}
    )

    assert business_time(spec, utc(2026, 3, 7, 12), utc(2026, 3, 8, 12)) == timedelta(
        hours=3, minutes=30
    )
    # 00:00 CET-03:30 CEST and 03:00-04:00 CEST: 23:00-02:00 UTC, three real hours.
    assert business_time(spec, utc(2026, 3, 28, 12), utc(2026, 3, 29, 12)) == 3 * H


# --- DST in America/New_York (2026-03-08 02:00 EST -> 03:00 EDT; 2026-11-01 02:00 -> 01:00)


def test_new_york_days_of_the_changes_last_23_and_25_hours():
    assert business_time(NEW_YORK_ALL_DAY, utc(2026, 3, 8, 5), utc(2026, 3, 9, 4)) == 23 * H
    assert business_time(NEW_YORK_ALL_DAY, utc(2026, 3, 7, 12), utc(2026, 3, 9, 12)) == 48 * H
    assert business_time(NEW_YORK_ALL_DAY, utc(2026, 11, 1, 4), utc(2026, 11, 2, 5)) == 25 * H


def test_new_york_all_day_calendar_adds_real_time():
    assert business_add(NEW_YORK_ALL_DAY, utc(2026, 3, 7, 5), 48 * H) == utc(2026, 3, 9, 5)
    assert business_add(NEW_YORK_ALL_DAY, utc(2026, 10, 31, 4), 48 * H) == utc(2026, 11, 2, 4)


def test_new_york_office_hours_over_both_changes():
    # Friday 16:00 EST + 2 h -> Monday 10:00 EDT; Friday 16:00 EDT + 2 h -> Monday 10:00 EST.
    assert business_add(NEW_YORK_OFFICE, utc(2026, 3, 6, 21), 2 * H) == utc(2026, 3, 9, 14)
    assert business_add(NEW_YORK_OFFICE, utc(2026, 10, 30, 20), 2 * H) == utc(2026, 11, 2, 15)
    assert business_time(NEW_YORK_OFFICE, utc(2026, 3, 6), utc(2026, 3, 10)) == 16 * H


# --- China 2026: holidays, make-up working days (调休), lunch break


def china_time(start: tuple, end: tuple) -> timedelta:
    """Business time of CHINA_2026 between two local times in Shanghai."""
    return business_time(CHINA_2026, local(SHANGHAI, *start), local(SHANGHAI, *end))


def test_china_make_up_saturday_is_a_working_day():
    assert china_time((2026, 2, 14), (2026, 2, 15)) == timedelta(hours=7, minutes=30)


def test_china_spring_festival_day_is_a_holiday():
    assert china_time((2026, 2, 17), (2026, 2, 18)) == timedelta(0)


def test_china_clock_runs_across_the_spring_festival():
    saturday_5pm = local(SHANGHAI, 2026, 2, 14, 17)

    deadline = business_add(CHINA_2026, saturday_5pm, 2 * H)

    assert deadline == local(SHANGHAI, 2026, 2, 24, 10) == utc(2026, 2, 24, 2)
    assert china_time((2026, 2, 14, 18), (2026, 2, 24, 9)) == timedelta(0)
    # Fri 13, Sat 14 (make-up), Tue 24 - Fri 27 and Sat 28 (make-up): 7 days of 7.5 h.
    assert china_time((2026, 2, 13), (2026, 3, 1)) == timedelta(hours=52, minutes=30)


def test_china_new_year_break_and_make_up_sunday():
    assert china_time((2026, 1, 1), (2026, 1, 4)) == timedelta(0)
    assert china_time((2026, 1, 4), (2026, 1, 5)) == timedelta(hours=7, minutes=30)


def test_lunch_break_does_not_count():
    monday = (2026, 3, 2)

    assert china_time((*monday, 11), (*monday, 14)) == timedelta(hours=1, minutes=30)
    # The earliest moment: noon, not 13:30.
    assert business_add(CHINA_2026, local(SHANGHAI, *monday, 9), 3 * H) == utc(*monday, 4)
    assert business_add(CHINA_2026, local(SHANGHAI, *monday, 11, 30), H) == utc(*monday, 6)
    assert business_add(
        CHINA_2026, local(SHANGHAI, *monday, 9), 3 * H + timedelta(seconds=1)
    ) == utc(*monday, 5, 30, 1)


def test_start_outside_working_hours_waits_for_the_next_interval():
    assert business_add(CHINA_2026, utc(2026, 3, 1), timedelta(minutes=1)) == utc(2026, 3, 2, 1, 1)


# --- 24x7 and edge cases


def test_24x7_is_plain_arithmetic():
    start = utc(2026, 3, 28, 23, 59, 59, 999_999)

    assert business_time(TWENTY_FOUR_SEVEN, start, utc(2026, 3, 30)) == timedelta(
        days=1, microseconds=1
    )
    assert business_add(TWENTY_FOUR_SEVEN, start, timedelta(days=30)) == utc(
        2026, 4, 27, 23, 59, 59, 999_999
    )


def test_add_of_zero_is_the_start_itself():
    sunday = utc(2026, 3, 1, 3)

    assert business_add(CHINA_2026, sunday, timedelta(0)) == sunday


def test_measure_of_a_reversed_range_is_zero():
    assert business_time(BERLIN_OFFICE, utc(2026, 3, 3, 12), utc(2026, 3, 3, 9)) == timedelta(0)


def test_calendar_without_working_time_raises_instead_of_looping():
    spec = CalendarSpec(time_zone="Europe/Berlin")

    with pytest.raises(ValueError, match="no working time"):
        business_add(spec, utc(2026, 1, 1), H)
    assert business_time(spec, utc(2026, 1, 1), utc(2027, 1, 1)) == timedelta(0)


def test_calendar_that_works_too_rarely_raises_after_the_search_limit():
    spec = CalendarSpec(time_zone="UTC", days={date(2040, 1, 2): ((time(9), time(10)),)})

    with pytest.raises(ValueError, match=f"within {SEARCH_LIMIT_DAYS} days"):
        business_add(spec, utc(2026, 1, 1), H)
    assert business_add(spec, utc(2032, 1, 1), H) == utc(2040, 1, 2, 10)


def test_thirty_business_days_are_added_per_day_not_per_minute():
    started = time_module.perf_counter()

    deadline = business_add(CHINA_2026, utc(2026, 9, 1), 30 * timedelta(hours=7, minutes=30))

    assert time_module.perf_counter() - started < 0.5
    assert deadline == utc(2026, 10, 16, 10)  # 30 working days incl. Sun 9-20 and Sat 10-10


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"time_zone": "Mars/Olympus"}, "Unknown time zone"),
        ({"weekly": {0: ((time(12), time(9)),)}}, "end after it starts"),
        ({"weekly": {7: ((time(9), time(12)),)}}, "Weekdays"),
    ],
)
def test_invalid_specs_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        CalendarSpec(**kwargs)


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="aware"):
        business_time(BERLIN_OFFICE, datetime(2026, 1, 1), utc(2026, 1, 2))
    with pytest.raises(ValueError, match="aware"):
        business_add(BERLIN_OFFICE, datetime(2026, 1, 1), H)


def test_intervals_are_sorted_and_merged():
    spec = CalendarSpec(
        weekly={0: ((time(13), time(18)), (time(9), time(12)), (time(11), time(13, 30)))}
    )

    assert spec.weekly == {0: ((time(9), time(18)),)}


# --- properties

instants = st.datetimes(
    min_value=datetime(2025, 12, 1), max_value=datetime(2027, 1, 31), timezones=st.just(UTC)
)
amounts = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=20))
specs = st.sampled_from(SPECS)
PROPERTY_SETTINGS = settings(deadline=None, max_examples=200)


@PROPERTY_SETTINGS
@given(spec=specs, start=instants, amount=amounts)
def test_add_then_measure_round_trips_at_the_earliest_moment(spec, start, amount):
    deadline = business_add(spec, start, amount)

    assert business_time(spec, start, deadline) == amount
    if amount:
        assert business_time(spec, start, deadline - timedelta(microseconds=1)) < amount


@PROPERTY_SETTINGS
@given(spec=specs, points=st.lists(instants, min_size=3, max_size=3))
def test_measure_is_additive(spec, points):
    a, b, c = sorted(points)

    assert business_time(spec, a, b) + business_time(spec, b, c) == business_time(spec, a, c)
    assert timedelta(0) <= business_time(spec, a, c) <= c - a


@PROPERTY_SETTINGS
@given(spec=specs, points=st.lists(instants, min_size=2, max_size=12), amount=amounts)
def test_pauses_never_count(spec, points, amount):
    points.sort()
    running = list(zip(points[0::2], points[1::2], strict=False))
    paused = list(zip(points[1::2], points[2::2], strict=False))
    last = points[-1]

    elapsed = sum((business_time(spec, a, b) for a, b in running), timedelta(0))
    waited = sum((business_time(spec, a, b) for a, b in paused), timedelta(0))

    assert elapsed + waited == business_time(spec, points[0], last)
    # Resuming at the last point: the deadline lies exactly `amount - elapsed` further.
    remaining = max(amount - elapsed, timedelta(0))
    deadline = business_add(spec, last, remaining)
    assert elapsed + business_time(spec, last, deadline) == max(amount, elapsed)


@PROPERTY_SETTINGS
@given(spec=specs, start=instants, end=instants, amount=amounts)
def test_results_do_not_depend_on_the_server_time_zone(spec, start, end, amount):
    saved = os.environ.get("TZ")
    results = []
    try:
        for zone in ("UTC", "Asia/Shanghai", "America/New_York"):
            os.environ["TZ"] = zone
            time_module.tzset()
            results.append(
                (
                    business_time(spec, start, end),
                    business_add(spec, start, amount),
                    # The same instants expressed in another zone.
                    business_time(spec, start.astimezone(SHANGHAI), end.astimezone(BERLIN)),
                )
            )
    finally:
        if saved is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = saved
        time_module.tzset()

    assert results[0] == results[1] == results[2]
    assert results[0][0] == results[0][2]
