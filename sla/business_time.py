"""Business-time arithmetic of SLA clocks: pure functions, no ORM, no server time zone.

A calendar (`CalendarSpec`) names working intervals as local wall-clock times in its time
zone: per weekday, and per date for holidays (no intervals) and extra working days. Each
interval of a date becomes a span of real instants (UTC); business time is the real
elapsed time inside those spans, to the microsecond. The rules for the days the clocks
change (the README repeats them for auditors):

- Real elapsed time counts, not wall-clock arithmetic: in Europe/Berlin a 01:00-04:00
  interval lasts 2 h on the spring-forward night (02:00-03:00 does not exist) and 4 h on
  the fall-back night (02:00-03:00 happens twice and both hours are worked).
- A local time that does not exist (inside the spring-forward gap) is read with the
  offset in force before the change, i.e. moved forward by the gap (02:30 becomes 03:30
  CEST); an ambiguous local time (the repeated hour) is its first occurrence. That is
  Python's `fold=0`, so the answer never depends on how a datetime was built.
- Spans of one date that overlap after that mapping count once.
- Every input is converted to UTC first, so the process time zone (TZ) never matters;
  results are UTC datetimes.
"""

import dataclasses
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

Interval = tuple[time, time]
Span = tuple[datetime, datetime]  # naive UTC

ZERO = timedelta(0)
DAY = timedelta(days=1)
# business_add gives up after this many days without reaching the amount (about 10 years):
# a calendar that (almost) never works must fail loudly, not loop.
SEARCH_LIMIT_DAYS = 3653


def _offset(value: time) -> timedelta:
    return timedelta(
        hours=value.hour, minutes=value.minute, seconds=value.second, microseconds=value.microsecond
    )


def _normalise(intervals) -> tuple[Interval, ...]:
    """Sorted, merged intervals; an end of 00:00 means midnight at the end of the day."""
    ranges = []
    for start, end in intervals:
        if start.tzinfo is not None or end.tzinfo is not None:
            raise ValueError("Working intervals are local wall-clock times without a time zone.")
        end_offset = DAY if end == time(0) else _offset(end)
        if end_offset <= _offset(start):
            raise ValueError(f"A working interval must end after it starts: {start}-{end}.")
        ranges.append((_offset(start), end_offset))
    ranges.sort()
    merged: list[list[timedelta]] = []
    for start_offset, end_offset in ranges:
        if merged and start_offset <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end_offset)
        else:
            merged.append([start_offset, end_offset])
    return tuple(
        ((datetime.min + a).time(), time(0) if b == DAY else (datetime.min + b).time())
        for a, b in merged
    )


def _offsets(intervals: tuple[Interval, ...]) -> tuple[tuple[timedelta, timedelta], ...]:
    return tuple(
        (_offset(start), DAY if end == time(0) else _offset(end)) for start, end in intervals
    )


@dataclasses.dataclass(frozen=True)
class CalendarSpec:
    """A business calendar as plain data (built by `sla.calendars.calendar_spec_load`).

    `weekly` maps a weekday (0 = Monday) to its working intervals; `days` overrides single
    dates: a holiday maps to (), an extra working day to its intervals. Intervals are
    sorted and merged on creation; an invalid time zone or interval raises ValueError.
    """

    time_zone: str = "UTC"
    is_24x7: bool = False
    weekly: dict[int, tuple[Interval, ...]] = dataclasses.field(default_factory=dict)
    days: dict[date, tuple[Interval, ...]] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"Unknown time zone: {self.time_zone!r}.") from exc
        if any(weekday not in range(7) for weekday in self.weekly):
            raise ValueError("Weekdays run from 0 (Monday) to 6 (Sunday).")
        weekly = {day: _normalise(ivs) for day, ivs in self.weekly.items()}
        object.__setattr__(self, "weekly", {day: ivs for day, ivs in weekly.items() if ivs})
        object.__setattr__(self, "days", {day: _normalise(ivs) for day, ivs in self.days.items()})
        # The same intervals as offsets from local midnight, for the arithmetic.
        object.__setattr__(
            self, "_weekly_offsets", {day: _offsets(ivs) for day, ivs in self.weekly.items()}
        )
        object.__setattr__(
            self, "_days_offsets", {day: _offsets(ivs) for day, ivs in self.days.items()}
        )

    @property
    def has_working_time(self) -> bool:
        return self.is_24x7 or bool(self.weekly) or any(self.days.values())

    def intervals_on(self, day: date) -> tuple[Interval, ...]:
        """The working intervals of a local date: its own entry, else its weekday's."""
        if day in self.days:
            return self.days[day]
        return self.weekly.get(day.weekday(), ())


def _naive_utc(value: datetime, name: str) -> datetime:
    """An aware datetime as naive UTC: the internal arithmetic (cheaper than aware)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime.")
    return value.astimezone(UTC).replace(tzinfo=None)


def _local_date(instant: datetime, zone: ZoneInfo) -> date:
    return instant.replace(tzinfo=UTC).astimezone(zone).date()


def _day_spans(spec: CalendarSpec, zone: ZoneInfo, day: date) -> list[Span]:
    """The working spans of one local date as naive UTC instants, sorted and merged.

    Every span of a date lies between the instants of its local midnight and the next
    one, so the spans of consecutive dates never overlap.
    """
    offsets = spec._days_offsets.get(day)
    if offsets is None:
        offsets = spec._weekly_offsets.get(day.weekday(), ())
    if not offsets:
        return []
    midnight = datetime.combine(day, time(0))
    spans: list[Span] = []
    for start, end in offsets:
        # Naive wall-clock arithmetic on purpose; utcoffset() of a naive time is the
        # fold=0 offset (before the change in a gap, the first of a repeated hour).
        local_start = midnight + start
        local_end = midnight + end
        span_start = local_start - zone.utcoffset(local_start)
        span_end = local_end - zone.utcoffset(local_end)
        if span_end > span_start:
            spans.append((span_start, span_end))
    spans.sort()
    merged: list[Span] = []
    for span_start, span_end in spans:
        if merged and span_start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], span_end))
        else:
            merged.append((span_start, span_end))
    return merged


def _spans_from(spec: CalendarSpec, start: datetime, days: int) -> Iterator[Span]:
    """Working spans (clipped to begin at `start`) of `days` local dates from `start`."""
    zone = ZoneInfo(spec.time_zone)
    # The previous date's spans may reach past local midnight (an interval ending 24:00).
    day = _local_date(start, zone) - DAY
    for _ in range(days + 1):
        for span_start, span_end in _day_spans(spec, zone, day):
            if span_end > start:
                yield max(span_start, start), span_end
        day += DAY


def business_time(spec: CalendarSpec, start: datetime, end: datetime) -> timedelta:
    """The business time of `spec` between two aware instants; zero if end <= start.

    Additive: business_time(a, b) + business_time(b, c) == business_time(a, c).
    """
    start, end = _naive_utc(start, "start"), _naive_utc(end, "end")
    if end <= start:
        return ZERO
    if spec.is_24x7:
        return end - start
    zone = ZoneInfo(spec.time_zone)
    days = (_local_date(end, zone) - _local_date(start, zone)).days + 2
    total = ZERO
    for span_start, span_end in _spans_from(spec, start, days):
        if span_start >= end:
            break
        total += min(span_end, end) - span_start
    return total


def business_add(spec: CalendarSpec, start: datetime, amount: timedelta) -> datetime:
    """The earliest instant t with business_time(spec, start, t) == amount (UTC).

    An amount of zero gives `start` itself, even outside working hours. Raises ValueError
    for a negative amount, a calendar without any working time, or when the amount is not
    reached within SEARCH_LIMIT_DAYS days (a calendar of almost only holidays).
    """
    start = _naive_utc(start, "start")
    if amount < ZERO:
        raise ValueError("The business time to add must not be negative.")
    if amount == ZERO:
        return start.replace(tzinfo=UTC)
    if spec.is_24x7:
        return (start + amount).replace(tzinfo=UTC)
    if not spec.has_working_time:
        raise ValueError("The business calendar has no working time at all.")
    remaining = amount
    for span_start, span_end in _spans_from(spec, start, SEARCH_LIMIT_DAYS):
        available = span_end - span_start
        if remaining <= available:
            return (span_start + remaining).replace(tzinfo=UTC)
        remaining -= available
    raise ValueError(
        f"The business calendar does not reach {amount} of working time within "
        f"{SEARCH_LIMIT_DAYS} days of {start:%Y-%m-%d}."
    )
