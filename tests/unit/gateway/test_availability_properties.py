"""Property tests for ``gateway.availability``: the invariants hold in every zone, on every day.

The oracles never re-run the module's algorithm. They check each offered slot against these
definitions, and where the definitions alone fix the answer (5-minute slots; a day without a clock
change) they compare with the list the definitions give:

* a window's real start is the first instant whose local wall clock reads at least its opening
  time; its real end is the last instant whose wall clock still reads before its closing time
  (the second pass of a repeated hour; the jump itself when the closing time is skipped);
* a slot starts on its window's wall-clock grid (opening + k * (duration + buffer)), at the first
  occurrence of that wall time, and lasts its duration in real time.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.availability import Interval, Override, Rules, Slot, Window, free_slots, grid, is_offered

ZONE_NAMES = (
    "America/New_York",
    "Europe/Berlin",
    "Australia/Lord_Howe",  # 30-minute DST
    "Asia/Kathmandu",  # +05:45, no DST
    "Pacific/Chatham",  # +12:45 / +13:45, changes at 02:45 local
    "UTC",
    "America/Sao_Paulo",  # changed at midnight until 2019: local midnight did not exist
)
FIRST_DAY = date(2018, 1, 1)
LAST_DAY = date(2027, 12, 31)
MINUTE = timedelta(minutes=1)

PROPERTY_SETTINGS = settings(max_examples=200, deadline=None)


def _transition_days(tz: ZoneInfo) -> tuple[date, ...]:
    """Local days whose UTC offset at midnight differs from the next day's."""
    found = []
    day = FIRST_DAY
    offset = datetime.combine(day, time(), tz).utcoffset()
    while day <= LAST_DAY:
        following = datetime.combine(day + timedelta(days=1), time(), tz).utcoffset()
        if following != offset:
            found.append(day)
        offset = following
        day += timedelta(days=1)
    return tuple(found)


TRANSITION_DAYS = {name: _transition_days(ZoneInfo(name)) for name in ZONE_NAMES}


def _clock_change_minutes(tz: ZoneInfo, day: date) -> tuple[int, int]:
    """Wall minutes (since ``day``'s midnight) the clock reads just before and just after it changes."""
    low = int(datetime.combine(day - timedelta(days=1), time(), UTC).timestamp())
    high = low + 3 * 86400  # the local day lies inside; clock changes are months apart
    offset_before = datetime.fromtimestamp(low, tz).utcoffset()
    while high - low > 60:  # bisect on whole minutes for the first one with the new offset
        middle = (low + high) // 120 * 60
        if datetime.fromtimestamp(middle, tz).utcoffset() == offset_before:
            low = middle
        else:
            high = middle
    change = datetime.fromtimestamp(high, tz)
    offset_after = change.utcoffset()
    assert offset_before is not None and offset_after is not None and offset_after != offset_before
    midnight = datetime.combine(day, time())
    reading_before = change.replace(tzinfo=None) - offset_after + offset_before
    reading_after = change.replace(tzinfo=None)
    return (reading_before - midnight) // MINUTE, (reading_after - midnight) // MINUTE


CLOCK_CHANGES = {
    (name, day): _clock_change_minutes(ZoneInfo(name), day) for name in ZONE_NAMES for day in TRANSITION_DAYS[name]
}
assert CLOCK_CHANGES[("America/New_York", date(2026, 3, 8))] == (120, 180)
assert CLOCK_CHANGES[("America/New_York", date(2026, 11, 1))] == (120, 60)
assert CLOCK_CHANGES[("Pacific/Chatham", date(2026, 9, 27))] == (165, 225)
assert CLOCK_CHANGES[("America/Sao_Paulo", date(2018, 11, 4))] == (0, 60)
assert CLOCK_CHANGES[("America/Sao_Paulo", date(2019, 2, 16))] == (1440, 1380)
assert TRANSITION_DAYS["America/New_York"], "the scan must find DST days"
assert date(2026, 3, 8) in TRANSITION_DAYS["America/New_York"]
assert date(2018, 11, 4) in TRANSITION_DAYS["America/Sao_Paulo"]


@dataclass(frozen=True)
class Scenario:
    tz: ZoneInfo
    day: date
    windows: tuple[Window, ...]
    overrides: dict[date, Override]
    rules: Rules
    range_start: datetime
    range_end: datetime
    busy: tuple[Interval, ...]

    def grid(self, **changes: Any) -> list[tuple[Slot, datetime]]:
        s = replace(self, **changes)
        return grid(
            tz=s.tz,
            windows=s.windows,
            overrides=s.overrides,
            rules=s.rules,
            range_start=s.range_start,
            range_end=s.range_end,
        )

    def free(self, **changes: Any) -> list[Slot]:
        s = replace(self, **changes)
        return free_slots(
            tz=s.tz,
            windows=s.windows,
            overrides=s.overrides,
            rules=s.rules,
            range_start=s.range_start,
            range_end=s.range_end,
            busy=s.busy,
        )


# --- strategies -------------------------------------------------------------------------------

fives = st.integers(min_value=0, max_value=6).map(lambda n: n * 5)  # buffers 0..30


@st.composite
def zone_and_day(draw: st.DrawFn) -> tuple[ZoneInfo, date]:
    name = draw(st.sampled_from(ZONE_NAMES))
    days = st.dates(min_value=FIRST_DAY, max_value=LAST_DAY)
    clock_changes_often = draw(st.integers(min_value=0, max_value=3)) > 0  # 3 times in 4
    if TRANSITION_DAYS[name] and clock_changes_often:
        days = st.sampled_from(TRANSITION_DAYS[name])
    return ZoneInfo(name), draw(days)


@st.composite
def local_minute(draw: st.DrawFn, near: tuple[int, ...]) -> int:
    """A multiple of 5 in ``[0, 1440]``, often close to one of ``near`` (where the clock changes)."""
    close_to_a_change = draw(st.integers(min_value=0, max_value=3)) > 0  # 3 times in 4
    if near and close_to_a_change:
        minute = draw(st.sampled_from(near)) + draw(st.integers(min_value=-12, max_value=12)) * 5
        return min(max(minute, 0), 1440)
    return draw(st.integers(min_value=0, max_value=288)) * 5


@st.composite
def minute_span(draw: st.DrawFn, near: tuple[int, ...] = ()) -> tuple[int, int]:
    """``(start, end)`` minutes since local midnight, multiples of 5, ``0 <= start < end <= 1440``."""
    start, end = sorted((draw(local_minute(near)), draw(local_minute(near))))
    if start == end:
        start, end = (start, end + 5) if end < 1440 else (start - 5, end)
    return start, end


@st.composite
def windows_around(draw: st.DrawFn, day: date, near: tuple[int, ...]) -> Window:
    start, end = draw(minute_span(near))
    weekday = (day + timedelta(days=draw(st.integers(min_value=-1, max_value=1)))).isoweekday()
    return Window(weekday, start, end, buffer_minutes=draw(fives))


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    tz, day = draw(zone_and_day())
    near = CLOCK_CHANGES.get((tz.key, day), ())
    windows = tuple(draw(st.lists(windows_around(day, near), min_size=1, max_size=3)))
    overrides: dict[date, Override] = {}
    kind = draw(st.sampled_from(("none", "none", "off", "windows")))
    if kind == "off":
        overrides[day] = Override(day, available=False)
    elif kind == "windows":
        spans = tuple(draw(st.lists(minute_span(near), min_size=1, max_size=2)))
        overrides[day] = Override(day, available=True, windows=spans)
    rules = Rules(
        duration_minutes=draw(st.integers(min_value=1, max_value=24)) * 5,
        buffer_minutes=draw(fives),
    )
    # Wide enough to hold the local days day-1 .. day+1 in any zone (offsets within +-14 h).
    range_start = datetime.combine(day, time(), UTC) - timedelta(hours=36)
    range_end = range_start + timedelta(hours=108)
    busy = tuple(draw(st.lists(busy_in(range_start, range_end), max_size=4)))
    return Scenario(tz, day, windows, overrides, rules, range_start, range_end, busy)


@st.composite
def busy_in(draw: st.DrawFn, range_start: datetime, range_end: datetime) -> Interval:
    span = int((range_end - range_start) / MINUTE)
    start = range_start + draw(st.integers(min_value=0, max_value=span)) * MINUTE
    return Interval(start, start + draw(st.integers(min_value=1, max_value=240)) * MINUTE)


# --- oracles ----------------------------------------------------------------------------------


def wall(instant: datetime, tz: ZoneInfo) -> datetime:
    """What the doctor's wall clock reads at ``instant`` (naive)."""
    return instant.astimezone(tz).replace(tzinfo=None)


def exists(naive: datetime, tz: ZoneInfo) -> bool:
    return wall(naive.replace(tzinfo=tz, fold=0).astimezone(UTC), tz) == naive


def _jump_past(naive: datetime, tz: ZoneInfo) -> datetime:
    """The instant the clock jumps over the skipped wall time ``naive`` (found minute by minute)."""
    instant = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)  # some instant before the jump
    while wall(instant, tz) < naive:
        instant += MINUTE
    return instant


@cache
def real_start(day: date, minute: int, tz: ZoneInfo) -> datetime:
    naive = datetime.combine(day, time()) + minute * MINUTE
    if exists(naive, tz):
        return naive.replace(tzinfo=tz, fold=0).astimezone(UTC)  # first pass of a repeated time
    return _jump_past(naive, tz)


@cache
def real_end(day: date, minute: int, tz: ZoneInfo) -> datetime:
    naive = datetime.combine(day, time()) + minute * MINUTE
    if exists(naive, tz):
        return naive.replace(tzinfo=tz, fold=1).astimezone(UTC)  # second pass of a repeated time
    return _jump_past(naive, tz)


def open_windows(s: Scenario, day: date) -> list[tuple[int, int, int]]:
    """``(start, end, buffer)`` of the windows open on ``day``, straight from the scenario."""
    override = s.overrides.get(day)
    if override is not None:
        return [(a, b, 0) for a, b in override.windows] if override.available else []
    return [(w.start_minute, w.end_minute, w.buffer_minutes) for w in s.windows if w.weekday == day.isoweekday()]


def belongs_to_a_window(slot: Slot, blocked_until: datetime, s: Scenario) -> bool:
    """The slot is one of the wall-clock grid points of a window open on its local day."""
    reading = wall(slot.start, s.tz)
    day = reading.date()
    minute, rest = divmod(reading - datetime.combine(day, time()), MINUTE)
    if rest or not exists(reading, s.tz):
        return False
    if slot.start != reading.replace(tzinfo=s.tz, fold=0).astimezone(UTC):
        return False  # a repeated wall time must be offered at its first occurrence only
    for start_minute, end_minute, window_buffer in open_windows(s, day):
        buffer = max(s.rules.buffer_minutes, window_buffer)
        step = s.rules.duration_minutes + buffer
        if minute < start_minute or (minute - start_minute) % step:
            continue
        if slot.start < real_start(day, start_minute, s.tz) or slot.end > real_end(day, end_minute, s.tz):
            continue
        if blocked_until != slot.end + buffer * MINUTE:
            continue
        return True
    return False


def touches(start: datetime, until: datetime, busy: tuple[Interval, ...]) -> bool:
    return any(b.start < until and start < b.end for b in busy)


def assert_well_formed(slots: list[Slot], s: Scenario) -> None:
    for slot in slots:
        assert slot.start.utcoffset() == timedelta(0) and slot.end.utcoffset() == timedelta(0)
        assert s.range_start <= slot.start < s.range_end
        # Real time, independent of how the datetimes are labelled.
        assert slot.end.timestamp() - slot.start.timestamp() == s.rules.duration_minutes * 60
    for earlier, later in pairwise(slots):
        assert earlier.end <= later.start, f"overlap: {earlier} {later}"
    readings = [wall(slot.start, s.tz) for slot in slots]
    assert len(set(readings)) == len(readings), "a local start time is offered twice"
    assert all(exists(r, s.tz) for r in readings)


# --- properties -------------------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(scenarios())
def test_grid_slots_are_well_formed_and_inside_their_windows(s: Scenario) -> None:
    pairs = s.grid()
    assert_well_formed([slot for slot, _ in pairs], s)
    for slot, blocked_until in pairs:
        assert belongs_to_a_window(slot, blocked_until, s), (slot, wall(slot.start, s.tz), blocked_until)


@st.composite
def instant_in(draw: st.DrawFn, s: Scenario, pairs: list[tuple[Slot, datetime]]) -> datetime:
    """An instant in the scenario's range; often on (or one minute off) a slot boundary."""
    on_an_edge = draw(st.booleans())
    if pairs and on_an_edge:
        slot, blocked_until = draw(st.sampled_from(pairs))
        anchor = draw(st.sampled_from((slot.start, slot.end, blocked_until)))
        return anchor + draw(st.sampled_from((-1, 0, 0, 0, 1))) * MINUTE
    span = (s.range_end - s.range_start) // MINUTE
    return s.range_start + draw(st.integers(min_value=0, max_value=span)) * MINUTE


@st.composite
def busy_near(draw: st.DrawFn, s: Scenario, pairs: list[tuple[Slot, datetime]]) -> Interval:
    """A busy interval that often starts or ends exactly at a slot's start, end or blocked-until."""
    edge = draw(instant_in(s, pairs))
    length = draw(st.integers(min_value=1, max_value=120)) * MINUTE
    return Interval(edge, edge + length) if draw(st.booleans()) else Interval(edge - length, edge)


@PROPERTY_SETTINGS
@given(scenarios(), st.data())
def test_free_slots_are_the_grid_minus_what_touches_busy(s: Scenario, data: st.DataObject) -> None:
    pairs = s.grid()
    s = replace(s, busy=s.busy + tuple(data.draw(st.lists(busy_near(s, pairs), max_size=4))))
    free = s.free()
    assert_well_formed(free, s)
    blocked_until = dict(pairs)
    assert set(free) <= set(blocked_until), "free_slots offered a slot the grid does not have"
    for slot in free:
        assert not touches(slot.start, blocked_until[slot], s.busy), slot
    # Nothing is hidden without a reason either.
    assert free == [slot for slot, until in pairs if not touches(slot.start, until, s.busy)]


@PROPERTY_SETTINGS
@given(scenarios(), st.data())
def test_adding_a_busy_interval_never_adds_slots(s: Scenario, data: st.DataObject) -> None:
    extra = data.draw(busy_near(s, s.grid()))
    before = s.free()
    after = s.free(busy=(*s.busy, extra))
    assert set(after) <= set(before)
    assert all(not (extra.start < slot.end and slot.start < extra.end) for slot in after)


@PROPERTY_SETTINGS
@given(scenarios(), st.data())
def test_grid_over_adjacent_ranges_concatenates(s: Scenario, data: st.DataObject) -> None:
    whole = s.grid()
    cut = min(max(data.draw(instant_in(s, whole)), s.range_start), s.range_end)
    assert s.grid(range_end=cut) + s.grid(range_start=cut) == whole
    assert s.grid(range_end=cut) == [p for p in whole if p[0].start < cut]


@PROPERTY_SETTINGS
@given(scenarios(), st.data())
def test_earliest_latest_and_same_day_only_filter_the_grid(s: Scenario, data: st.DataObject) -> None:
    whole = s.grid()
    earliest, latest = sorted((data.draw(instant_in(s, whole)), data.draw(instant_in(s, whole))))
    bounded = s.grid(rules=replace(s.rules, earliest=earliest, latest=latest))
    assert bounded == [p for p in whole if earliest <= p[0].start <= latest]

    now = data.draw(instant_in(s, whole))
    local_now = wall(now, s.tz)
    no_same_day = s.grid(rules=replace(s.rules, same_day_allowed=False, now=now))
    assert no_same_day == [p for p in whole if wall(p[0].start, s.tz).date() != local_now.date()]
    now_minute = local_now.hour * 60 + local_now.minute
    cutoff = data.draw(
        st.one_of(st.integers(min_value=0, max_value=1439), st.sampled_from((now_minute, now_minute + 1)))
    )
    with_cutoff = s.grid(rules=replace(s.rules, same_day_cutoff_minute=cutoff, now=now))
    assert with_cutoff == (no_same_day if now_minute >= cutoff else whole)


def offered(s: Scenario, start: datetime) -> tuple[Slot, datetime] | None:
    return is_offered(start, tz=s.tz, windows=s.windows, overrides=s.overrides, rules=s.rules)


@PROPERTY_SETTINGS
@given(scenarios(), st.data())
def test_is_offered_agrees_with_the_grid(s: Scenario, data: st.DataObject) -> None:
    pairs = s.grid()
    starts = {slot.start for slot, _ in pairs}
    if pairs:
        for slot, blocked_until in data.draw(st.lists(st.sampled_from(pairs), max_size=3)):
            assert offered(s, slot.start) == (slot, blocked_until)
            off_grid = slot.start + data.draw(st.integers(min_value=1, max_value=4)) * MINUTE
            if off_grid not in starts:
                assert offered(s, off_grid) is None
            # The second pass of a repeated wall time is never a slot of its own.
            second_pass = wall(slot.start, s.tz).replace(tzinfo=s.tz, fold=1).astimezone(UTC)
            if second_pass != slot.start:
                assert second_pass not in starts
                assert offered(s, second_pass) is None
    span = int((s.range_end - s.range_start) / MINUTE)
    probe = s.range_start + data.draw(st.integers(min_value=0, max_value=span - 1)) * MINUTE
    if probe not in starts:
        assert offered(s, probe) is None


SPRING_FORWARD = sorted((name, day) for (name, day), (before, after) in CLOCK_CHANGES.items() if after > before)


@st.composite
def window_across_a_gap(draw: st.DrawFn) -> Scenario:
    """A spring-forward day and one window that opens before the skipped hour and closes after it
    (or inside it): the case where mapping a skipped time anywhere at all would show."""
    name, day = draw(st.sampled_from(SPRING_FORWARD))
    tz = ZoneInfo(name)
    before, _ = CLOCK_CHANGES[(name, day)]
    start = max(before - draw(st.integers(min_value=0, max_value=36)) * 5, 0)
    end = min(before + draw(st.integers(min_value=1, max_value=48)) * 5, 1440)
    window = Window(day.isoweekday(), start, end, draw(fives), valid_from=day, valid_until=day)
    rules = Rules(duration_minutes=draw(st.integers(min_value=1, max_value=24)) * 5, buffer_minutes=draw(fives))
    range_start = datetime.combine(day, time(), UTC) - timedelta(hours=36)
    return Scenario(tz, day, (window,), {}, rules, range_start, range_start + timedelta(hours=108), ())


@PROPERTY_SETTINGS
@given(window_across_a_gap())
def test_a_window_across_the_skipped_hour_stays_on_its_grid(s: Scenario) -> None:
    pairs = s.grid()
    assert_well_formed([slot for slot, _ in pairs], s)
    for slot, blocked_until in pairs:
        assert belongs_to_a_window(slot, blocked_until, s), (slot, wall(slot.start, s.tz), blocked_until)


@st.composite
def steady_single_window(draw: st.DrawFn) -> Scenario:
    tz = ZoneInfo(draw(st.sampled_from(ZONE_NAMES)))
    day = draw(st.dates(min_value=FIRST_DAY, max_value=LAST_DAY))  # rarely a clock-change day
    start, end = draw(minute_span())
    window = Window(day.isoweekday(), start, end, draw(fives), valid_from=day, valid_until=day)
    rules = Rules(duration_minutes=draw(st.integers(min_value=1, max_value=24)) * 5, buffer_minutes=draw(fives))
    range_start = datetime.combine(day, time(), UTC) - timedelta(hours=36)
    return Scenario(tz, day, (window,), {}, rules, range_start, range_start + timedelta(hours=108), ())


@PROPERTY_SETTINGS
@given(steady_single_window())
def test_a_day_without_a_clock_change_gets_every_grid_point(s: Scenario) -> None:
    (window,) = s.windows
    midnight = datetime.combine(s.day, time())
    on_the_day = [
        datetime.combine(s.day, time(), s.tz),
        datetime.combine(s.day + timedelta(days=1), time(), s.tz),
    ]
    if s.day in TRANSITION_DAYS[s.tz.key] or on_the_day[0].utcoffset() != on_the_day[1].utcoffset():
        return  # the clock changes that day; the other properties cover it
    step = s.rules.duration_minutes + max(s.rules.buffer_minutes, window.buffer_minutes)
    expected = [
        midnight + minute * MINUTE
        for minute in range(window.start_minute, window.end_minute - s.rules.duration_minutes + 1, step)
    ]
    got = [wall(slot.start, s.tz) for slot, _ in s.grid()]
    assert got == expected


@PROPERTY_SETTINGS
@given(zone_and_day(), st.data())
def test_five_minute_grid_offers_each_existing_wall_time_once(
    zone_day: tuple[ZoneInfo, date], data: st.DataObject
) -> None:
    """With 5-minute slots every wall time of the window that exists is offered once (at its first
    occurrence) if the slot fits before the window's real end; every skipped wall time never."""
    tz, day = zone_day
    start, end = data.draw(minute_span(CLOCK_CHANGES.get((tz.key, day), ())))
    window = Window(day.isoweekday(), start, end, valid_from=day, valid_until=day)
    range_start = datetime.combine(day, time(), UTC) - timedelta(hours=36)
    pairs = grid(
        tz=tz,
        windows=[window],
        overrides={},
        rules=Rules(duration_minutes=5),
        range_start=range_start,
        range_end=range_start + timedelta(hours=108),
    )
    midnight = datetime.combine(day, time())
    closes = real_end(day, end, tz)
    expected = []
    for minute in range(start, end - 5 + 1, 5):
        reading = midnight + minute * MINUTE
        if exists(reading, tz) and reading.replace(tzinfo=tz, fold=0).astimezone(UTC) + 5 * MINUTE <= closes:
            expected.append(reading.replace(tzinfo=tz, fold=0).astimezone(UTC))
    assert [slot.start for slot, _ in pairs] == expected
