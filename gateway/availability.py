"""Free slots from windows, overrides, booked and held intervals. Pure: no I/O, no clock.

Windows are minutes since local midnight in the doctor's IANA zone; everything returned is UTC.
Slots sit on a wall-clock grid that starts at the window's start and steps by the duration plus
the buffer. Around daylight-saving changes:

* a local start time that does not exist (spring forward) yields no slot;
* a repeated local time (fall back) is offered once, at its first occurrence;
* a slot lasts its duration in real time and must end by the window's end in real time;
  where the shortened day would make two slots overlap, the later one is dropped.

An appointment or hold blocks ``[start, end + buffer)``; a candidate slot is free when its own
``[start, end + buffer)`` touches no blocked interval. The hold engine takes exactly those cells
in Redis, so what ``/slots`` offers and what a hold can take agree.
"""

from __future__ import annotations

import bisect
import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True, slots=True)
class Window:
    """A recurring weekly window."""

    weekday: int  # ISO: 1 = Monday … 7 = Sunday
    start_minute: int
    end_minute: int
    buffer_minutes: int = 0
    valid_from: date | None = None
    valid_until: date | None = None

    def applies_on(self, day: date) -> bool:
        """Whether this window is open on ``day`` (weekday and validity range)."""
        if day.isoweekday() != self.weekday:
            return False
        if self.valid_from is not None and day < self.valid_from:
            return False
        return not (self.valid_until is not None and day > self.valid_until)


@dataclass(frozen=True, slots=True)
class Override:
    """One date's exception: a day off, or other windows that day."""

    day: date
    available: bool
    windows: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True, slots=True, order=True)
class Interval:
    """A half-open UTC interval ``[start, end)``."""

    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True, order=True)
class Slot:
    """A bookable slot (UTC)."""

    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class Rules:
    """What the appointment type asks of a slot."""

    duration_minutes: int
    buffer_minutes: int = 0
    earliest: datetime | None = None  # no slot starts before (now + minimum notice)
    latest: datetime | None = None  # no slot starts after (now + maximum advance)
    same_day_allowed: bool = True
    same_day_cutoff_minute: int | None = None  # local minute after which today can't be booked
    now: datetime | None = None  # needed for the same-day rules


def local_instant(day: date, minute: int, tz: ZoneInfo) -> datetime | None:
    """The UTC instant of ``minute`` after local midnight on ``day``.

    Returns:
        ``None`` when that wall-clock time does not exist (skipped by a spring-forward change);
        the first occurrence when it exists twice (fall back).
    """
    naive = datetime.combine(day, time()) + timedelta(minutes=minute)
    aware = naive.replace(tzinfo=tz, fold=0)
    utc = aware.astimezone(UTC)
    if utc.astimezone(tz).replace(tzinfo=None) != naive:
        return None
    return utc


def _window_end(day: date, minute: int, tz: ZoneInfo) -> datetime:
    """The real instant a window closes; a closing time lost to spring forward maps forward."""
    naive = datetime.combine(day, time()) + timedelta(minutes=minute)
    # fold=1 picks the later offset for a repeated time: the window runs to the second occurrence.
    closes = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)
    if closes.astimezone(tz).replace(tzinfo=None) == naive:
        return closes
    # A time skipped by spring forward: the window closes at the jump. Inside a gap, fold=1 reads the
    # time with the offset after the change (an instant before the jump) and fold=0 with the offset
    # before it (an instant after the jump); find the first whole second whose wall time is past it.
    before = int(closes.timestamp())
    after = int(naive.replace(tzinfo=tz, fold=0).astimezone(UTC).timestamp())
    while after - before > 1:
        middle = (before + after) // 2
        if datetime.fromtimestamp(middle, tz).replace(tzinfo=None) >= naive:
            after = middle
        else:
            before = middle
    return datetime.fromtimestamp(after, UTC)


def day_windows(
    day: date,
    windows: Sequence[Window],
    overrides: Mapping[date, Override],
) -> list[tuple[int, int, int]]:
    """The windows open on ``day`` as ``(start_minute, end_minute, buffer_minutes)``."""
    override = overrides.get(day)
    if override is not None:
        if not override.available:
            return []
        return [(s, e, 0) for s, e in override.windows]
    return [(w.start_minute, w.end_minute, w.buffer_minutes) for w in windows if w.applies_on(day)]


def _candidates(
    day: date,
    tz: ZoneInfo,
    windows: Sequence[Window],
    overrides: Mapping[date, Override],
    rules: Rules,
) -> Iterable[tuple[datetime, datetime, datetime]]:
    return _day_candidates(
        day, tz, tuple(day_windows(day, windows, overrides)), rules.duration_minutes, rules.buffer_minutes
    )


@functools.lru_cache(maxsize=2048)
def _day_candidates(
    day: date, tz: ZoneInfo, spans: tuple[tuple[int, int, int], ...], duration_minutes: int, buffer_minutes: int
) -> tuple[tuple[datetime, datetime, datetime], ...]:
    # Memoised: a day's grid depends only on these arguments, and turning wall times into
    # instants (zoneinfo, twice per candidate) was the biggest cost of every hold and /slots
    # call. Nothing here reads a clock, so a cached day is as right tomorrow as it is today.
    duration = timedelta(minutes=duration_minutes)
    found = []
    for start_minute, end_minute, window_buffer in spans:
        buffer = max(buffer_minutes, window_buffer)
        step = duration_minutes + buffer
        closes = _window_end(day, end_minute, tz)
        minute = start_minute
        while minute + duration_minutes <= end_minute:
            start = local_instant(day, minute, tz)
            minute += step
            if start is None:
                continue
            end = start + duration
            if end > closes:
                continue
            found.append((start, end, end + timedelta(minutes=buffer)))
    return tuple(found)


def same_day_blocked(start: datetime, tz: ZoneInfo, rules: Rules) -> bool:
    """Whether the type's same-day rules (``same_day_allowed``, the cutoff) refuse ``start`` now."""
    if rules.now is None:
        return False
    local_now = rules.now.astimezone(tz)
    if start.astimezone(tz).date() != local_now.date():
        return False
    if not rules.same_day_allowed:
        return True
    cutoff = rules.same_day_cutoff_minute
    return cutoff is not None and local_now.hour * 60 + local_now.minute >= cutoff


def grid(
    *,
    tz: ZoneInfo,
    windows: Sequence[Window],
    overrides: Mapping[date, Override],
    rules: Rules,
    range_start: datetime,
    range_end: datetime,
) -> list[tuple[Slot, datetime]]:
    """Every slot the schedule offers in ``[range_start, range_end)``, ignoring who took what.

    Returns:
        ``(slot, blocked_until)`` pairs sorted by start, never overlapping one another.
    """
    # Windows end by local midnight, so a slot starting in the range lies on a local date the
    # range touches, and days never interact: no padding day on either side is needed.
    first = range_start.astimezone(tz).date()
    last = range_end.astimezone(tz).date()
    found: list[tuple[datetime, datetime, datetime]] = []
    day = first
    while day <= last:
        found.extend(_candidates(day, tz, windows, overrides, rules))
        day += timedelta(days=1)
    found.sort()
    result: list[tuple[Slot, datetime]] = []
    previous_end: datetime | None = None
    for start, end, blocked_until in found:
        if previous_end is not None and start < previous_end:
            continue  # a shortened (spring-forward) day or overlapping windows
        previous_end = end
        if start < range_start or start >= range_end:
            continue
        if rules.earliest is not None and start < rules.earliest:
            continue
        if rules.latest is not None and start > rules.latest:
            continue
        if same_day_blocked(start, tz, rules):
            continue
        result.append((Slot(start, end), blocked_until))
    return result


def free_slots(
    *,
    tz: ZoneInfo,
    windows: Sequence[Window],
    overrides: Mapping[date, Override],
    rules: Rules,
    range_start: datetime,
    range_end: datetime,
    busy: Iterable[Interval] = (),
) -> list[Slot]:
    """The free slots: the grid minus everything that touches a booked or held interval.

    Args:
        tz: the doctor's zone.
        windows: the doctor's active weekly windows.
        overrides: date overrides by local date.
        rules: the appointment type's duration, buffer and booking bounds.
        range_start: first instant a slot may start (inclusive, aware).
        range_end: instant slots must start before (exclusive, aware).
        busy: blocked intervals (appointments ``[start, blocked_until)`` and holds).

    Returns:
        Slots sorted by start.
    """
    blocked = sorted(busy)
    starts = [b.start for b in blocked]
    # Running maximum of ends lets one bisect answer "does anything before x end after y".
    max_end: list[datetime] = []
    for b in blocked:
        max_end.append(b.end if not max_end or b.end > max_end[-1] else max_end[-1])
    free = []
    for slot, blocked_until in grid(
        tz=tz, windows=windows, overrides=overrides, rules=rules, range_start=range_start, range_end=range_end
    ):
        i = bisect.bisect_left(starts, blocked_until)  # intervals starting before our end
        if i and max_end[i - 1] > slot.start:
            continue
        free.append(slot)
    return free


def is_offered(
    start: datetime,
    *,
    tz: ZoneInfo,
    windows: Sequence[Window],
    overrides: Mapping[date, Override],
    rules: Rules,
) -> tuple[Slot, datetime] | None:
    """The grid slot starting exactly at ``start`` with its blocked-until, or ``None``."""
    for slot, blocked_until in grid(
        tz=tz,
        windows=windows,
        overrides=overrides,
        rules=rules,
        range_start=start,
        range_end=start + timedelta(microseconds=1),
    ):
        if slot.start == start:
            return slot, blocked_until
    return None
