"""Example tests for the pure slot computation in ``gateway.availability``.

Every expected UTC instant below is computed by hand from the zone rules, not by the module:

* America/New_York: EST = UTC-5, EDT = UTC-4. 2026-03-08 02:00 EST jumps to 03:00 EDT (07:00Z);
  2026-11-01 02:00 EDT falls back to 01:00 EST (06:00Z), so 01:00-01:59 happens twice.
* Europe/Berlin: CET = UTC+1, CEST = UTC+2. 2026-03-29 02:00 CET jumps to 03:00 CEST (01:00Z);
  2026-10-25 03:00 CEST falls back to 02:00 CET (01:00Z), so 02:00-02:59 happens twice.
* Australia/Lord_Howe: +10:30 standard, +11 summer. 2026-10-04 02:00 jumps to 02:30 (15:30Z).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest

from gateway.availability import (
    Interval,
    Override,
    Rules,
    Slot,
    Window,
    day_windows,
    free_slots,
    grid,
    is_offered,
    local_instant,
)

NEW_YORK = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")
ZULU = ZoneInfo("UTC")

NY_SPRING = date(2026, 3, 8)  # Sunday
NY_FALL = date(2026, 11, 1)  # Sunday
BERLIN_SPRING = date(2026, 3, 29)  # Sunday
BERLIN_FALL = date(2026, 10, 25)  # Sunday
LH_SPRING = date(2026, 10, 4)  # Sunday
MONDAY = date(2026, 6, 8)
NO_OVERRIDES: Mapping[date, Override] = {}


def z(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """A UTC instant."""
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def hm(hours: int, minutes: int = 0) -> int:
    """Minutes since local midnight."""
    return hours * 60 + minutes


def one_day_window(day: date, start: int, end: int, buffer: int = 0) -> Window:
    """A weekly window that only applies on ``day``."""
    return Window(day.isoweekday(), start, end, buffer, valid_from=day, valid_until=day)


def local_day_range(day: date, tz: ZoneInfo, days: int = 1) -> tuple[datetime, datetime]:
    """``[local midnight of day, local midnight ``days`` later)`` in UTC (midnights exist here)."""
    start = datetime.combine(day, time(), tz).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=days), time(), tz).astimezone(UTC)
    return start, end


def slots_for(
    day: date,
    tz: ZoneInfo,
    windows: Sequence[Window],
    rules: Rules,
    *,
    overrides: Mapping[date, Override] = NO_OVERRIDES,
    busy: Iterable[Interval] = (),
    days: int = 1,
) -> list[Slot]:
    range_start, range_end = local_day_range(day, tz, days)
    return free_slots(
        tz=tz,
        windows=windows,
        overrides=overrides,
        rules=rules,
        range_start=range_start,
        range_end=range_end,
        busy=busy,
    )


def starts(slots: Iterable[Slot]) -> list[datetime]:
    return [s.start for s in slots]


def wall(instant: datetime, tz: ZoneInfo) -> datetime:
    """The naive local wall-clock reading of ``instant``."""
    return instant.astimezone(tz).replace(tzinfo=None)


def wall_time_exists(naive: datetime, tz: ZoneInfo) -> bool:
    return wall(naive.replace(tzinfo=tz).astimezone(UTC), tz) == naive


def assert_dst_safe(slots: Sequence[Slot], tz: ZoneInfo, duration: int, real_end: datetime) -> None:
    """The DST guarantees every slot list must keep, whatever the exact grid."""
    walls = [wall(s.start, tz) for s in slots]
    assert all(wall_time_exists(w, tz) for w in walls), "a slot starts at a non-existent local time"
    assert len(set(walls)) == len(walls), "a repeated local time is offered twice"
    for s in slots:
        assert s.start.utcoffset() == timedelta(0)
        assert s.end.timestamp() - s.start.timestamp() == duration * 60, "duration not in real time"
        assert s.end <= real_end, "slot ends after the window's real end"
    for a, b in pairwise(slots):
        assert a.end <= b.start, "slots overlap"


# --- DST: America/New_York --------------------------------------------------------------------


def test_ny_spring_forward_hour_slots_skip_the_missing_hour() -> None:
    slots = slots_for(NY_SPRING, NEW_YORK, [one_day_window(NY_SPRING, 0, hm(5))], Rules(60))
    # 00:00 EST, 01:00 EST, (02:00 does not exist), 03:00 EDT, 04:00 EDT
    assert starts(slots) == [z(2026, 3, 8, 5), z(2026, 3, 8, 6), z(2026, 3, 8, 7), z(2026, 3, 8, 8)]
    assert slots[-1].end == z(2026, 3, 8, 9)  # 05:00 EDT, the window's real end
    assert_dst_safe(slots, NEW_YORK, 60, real_end=z(2026, 3, 8, 9))


def test_ny_spring_forward_drops_a_later_slot_the_short_day_would_overlap() -> None:
    slots = slots_for(NY_SPRING, NEW_YORK, [one_day_window(NY_SPRING, 0, hm(6))], Rules(90))
    # 00:00 EST (05:00Z-06:30Z), 01:30 EST (06:30Z-08:00Z = 04:00 EDT);
    # 03:00 EDT (07:00Z) would overlap the 01:30 slot and is dropped; 04:30 EDT = 08:30Z.
    assert slots == [
        Slot(z(2026, 3, 8, 5), z(2026, 3, 8, 6, 30)),
        Slot(z(2026, 3, 8, 6, 30), z(2026, 3, 8, 8)),
        Slot(z(2026, 3, 8, 8, 30), z(2026, 3, 8, 10)),
    ]
    assert_dst_safe(slots, NEW_YORK, 90, real_end=z(2026, 3, 8, 10))


def test_ny_spring_forward_window_closing_inside_the_gap_runs_until_the_jump() -> None:
    # 02:30 never happens that night: the window is open until the clock jumps (07:00Z).
    slots = slots_for(NY_SPRING, NEW_YORK, [one_day_window(NY_SPRING, hm(0), hm(2, 30))], Rules(30))
    assert starts(slots) == [z(2026, 3, 8, 5), z(2026, 3, 8, 5, 30), z(2026, 3, 8, 6), z(2026, 3, 8, 6, 30)]
    assert slots[-1].end == z(2026, 3, 8, 7)
    assert_dst_safe(slots, NEW_YORK, 30, real_end=z(2026, 3, 8, 7))


def test_ny_spring_forward_slot_may_not_run_past_a_window_closing_inside_the_gap() -> None:
    # 01:30 EST + 60 min = 03:30 EDT, past the window (closes at the jump, 07:00Z).
    slots = slots_for(NY_SPRING, NEW_YORK, [one_day_window(NY_SPRING, hm(0, 30), hm(2, 30))], Rules(60))
    assert slots == [Slot(z(2026, 3, 8, 5, 30), z(2026, 3, 8, 6, 30))]


def test_ny_spring_forward_window_opening_inside_the_gap_starts_after_the_jump() -> None:
    slots = slots_for(NY_SPRING, NEW_YORK, [one_day_window(NY_SPRING, hm(2), hm(4))], Rules(30))
    # 02:00 and 02:30 do not exist; 03:00 EDT = 07:00Z, 03:30 EDT = 07:30Z.
    assert starts(slots) == [z(2026, 3, 8, 7), z(2026, 3, 8, 7, 30)]
    assert_dst_safe(slots, NEW_YORK, 30, real_end=z(2026, 3, 8, 8))


def test_ny_fall_back_offers_the_repeated_hour_once() -> None:
    slots = slots_for(NY_FALL, NEW_YORK, [one_day_window(NY_FALL, 0, hm(3))], Rules(30))
    # 00:00-01:30 EDT (04:00Z-05:30Z), the second 01:00/01:30 (EST, 06:00Z/06:30Z) is not offered,
    # then 02:00 and 02:30 EST (07:00Z, 07:30Z); the window closes at 03:00 EST = 08:00Z.
    assert starts(slots) == [
        z(2026, 11, 1, 4),
        z(2026, 11, 1, 4, 30),
        z(2026, 11, 1, 5),
        z(2026, 11, 1, 5, 30),
        z(2026, 11, 1, 7),
        z(2026, 11, 1, 7, 30),
    ]
    assert z(2026, 11, 1, 6) not in starts(slots)
    assert_dst_safe(slots, NEW_YORK, 30, real_end=z(2026, 11, 1, 8))


def test_ny_fall_back_hour_slots_last_an_hour_of_real_time() -> None:
    slots = slots_for(NY_FALL, NEW_YORK, [one_day_window(NY_FALL, 0, hm(4))], Rules(60))
    # 01:00 EDT lasts until 01:00 EST (05:00Z-06:00Z), never "until 02:00" on the wall.
    assert slots == [
        Slot(z(2026, 11, 1, 4), z(2026, 11, 1, 5)),
        Slot(z(2026, 11, 1, 5), z(2026, 11, 1, 6)),
        Slot(z(2026, 11, 1, 7), z(2026, 11, 1, 8)),
        Slot(z(2026, 11, 1, 8), z(2026, 11, 1, 9)),
    ]
    assert_dst_safe(slots, NEW_YORK, 60, real_end=z(2026, 11, 1, 9))


# --- DST: Europe/Berlin -----------------------------------------------------------------------


def test_berlin_spring_forward_skips_the_missing_hour() -> None:
    slots = slots_for(BERLIN_SPRING, BERLIN, [one_day_window(BERLIN_SPRING, hm(1), hm(4))], Rules(30))
    # 01:00, 01:30 CET (00:00Z, 00:30Z); 02:00/02:30 do not exist; 03:00, 03:30 CEST (01:00Z, 01:30Z).
    assert slots == [
        Slot(z(2026, 3, 29, 0), z(2026, 3, 29, 0, 30)),
        Slot(z(2026, 3, 29, 0, 30), z(2026, 3, 29, 1)),
        Slot(z(2026, 3, 29, 1), z(2026, 3, 29, 1, 30)),
        Slot(z(2026, 3, 29, 1, 30), z(2026, 3, 29, 2)),
    ]
    assert_dst_safe(slots, BERLIN, 30, real_end=z(2026, 3, 29, 2))


def test_berlin_fall_back_with_buffer_offers_repeated_hour_once() -> None:
    window = one_day_window(BERLIN_FALL, hm(1), hm(4))
    slots = slots_for(BERLIN_FALL, BERLIN, [window], Rules(45, buffer_minutes=15))
    # Wall grid 01:00, 02:00, 03:00 (step 60). 01:00 CEST = 23:00Z (24th); 02:00 first occurrence
    # (CEST) = 00:00Z; 03:00 CET = 02:00Z. The second 02:00 (CET, 01:00Z) is not offered.
    assert slots == [
        Slot(z(2026, 10, 24, 23), z(2026, 10, 24, 23, 45)),
        Slot(z(2026, 10, 25, 0), z(2026, 10, 25, 0, 45)),
        Slot(z(2026, 10, 25, 2), z(2026, 10, 25, 2, 45)),
    ]
    assert_dst_safe(slots, BERLIN, 45, real_end=z(2026, 10, 25, 3))


def test_berlin_fall_back_window_inside_the_repeated_hour() -> None:
    slots = slots_for(BERLIN_FALL, BERLIN, [one_day_window(BERLIN_FALL, hm(2), hm(3))], Rules(30))
    # Only the first pass through 02:00-02:59 (CEST): 00:00Z and 00:30Z.
    assert starts(slots) == [z(2026, 10, 25, 0), z(2026, 10, 25, 0, 30)]
    assert_dst_safe(slots, BERLIN, 30, real_end=z(2026, 10, 25, 2))


def test_lord_howe_half_hour_spring_forward() -> None:
    slots = slots_for(LH_SPRING, LORD_HOWE, [one_day_window(LH_SPRING, hm(1), hm(4))], Rules(30))
    # 01:00, 01:30 at +10:30 (14:30Z, 15:00Z); 02:00 does not exist; 02:30, 03:00, 03:30 at +11.
    assert starts(slots) == [
        z(2026, 10, 3, 14, 30),
        z(2026, 10, 3, 15),
        z(2026, 10, 3, 15, 30),
        z(2026, 10, 3, 16),
        z(2026, 10, 3, 16, 30),
    ]
    assert_dst_safe(slots, LORD_HOWE, 30, real_end=z(2026, 10, 3, 17))


# --- local_instant ----------------------------------------------------------------------------


def test_local_instant_ordinary_time() -> None:
    assert local_instant(MONDAY, hm(9, 15), BERLIN) == z(2026, 6, 8, 7, 15)


@pytest.mark.parametrize(
    ("day", "minute", "tz"),
    [
        (NY_SPRING, hm(2), NEW_YORK),
        (NY_SPRING, hm(2, 59), NEW_YORK),
        (BERLIN_SPRING, hm(2, 30), BERLIN),
        (LH_SPRING, hm(2, 15), LORD_HOWE),
    ],
)
def test_local_instant_nonexistent_time_is_none(day: date, minute: int, tz: ZoneInfo) -> None:
    assert local_instant(day, minute, tz) is None


def test_local_instant_edges_of_the_gap_exist() -> None:
    assert local_instant(NY_SPRING, hm(1, 59), NEW_YORK) == z(2026, 3, 8, 6, 59)
    assert local_instant(NY_SPRING, hm(3), NEW_YORK) == z(2026, 3, 8, 7)


def test_local_instant_repeated_time_is_first_occurrence() -> None:
    assert local_instant(NY_FALL, hm(1, 30), NEW_YORK) == z(2026, 11, 1, 5, 30)  # EDT, not 06:30Z
    assert local_instant(BERLIN_FALL, hm(2, 30), BERLIN) == z(2026, 10, 25, 0, 30)  # CEST, not 01:30Z


# --- weekly windows and overrides -------------------------------------------------------------


@pytest.mark.parametrize(
    ("weekday", "expected_day"), [(1, date(2026, 6, 8)), (3, date(2026, 6, 10)), (7, date(2026, 6, 14))]
)
def test_weekday_is_iso(weekday: int, expected_day: date) -> None:
    slots = slots_for(MONDAY, ZULU, [Window(weekday, hm(9), hm(10))], Rules(60), days=7)
    assert slots == [Slot(datetime.combine(expected_day, time(9), UTC), datetime.combine(expected_day, time(10), UTC))]


def test_valid_from_and_valid_until_are_inclusive() -> None:
    window = Window(1, hm(9), hm(10), valid_from=date(2026, 6, 8), valid_until=date(2026, 6, 22))
    slots = slots_for(date(2026, 6, 1), ZULU, [window], Rules(60), days=29)  # Mondays 1, 8, 15, 22, 29
    assert starts(slots) == [z(2026, 6, 8, 9), z(2026, 6, 15, 9), z(2026, 6, 22, 9)]


def test_day_windows_respects_weekday_validity_and_overrides() -> None:
    windows = [Window(1, 540, 600, 5), Window(2, 600, 660), Window(1, 700, 760, valid_until=date(2026, 6, 1))]
    assert day_windows(MONDAY, windows, {}) == [(540, 600, 5)]
    assert day_windows(MONDAY, windows, {MONDAY: Override(MONDAY, False)}) == []
    assert day_windows(MONDAY, windows, {MONDAY: Override(MONDAY, True, ((60, 90),))}) == [(60, 90, 0)]
    assert day_windows(date(2026, 6, 1), windows, {}) == [(540, 600, 5), (700, 760, 0)]


def test_override_day_off_removes_only_that_day() -> None:
    tuesday = MONDAY + timedelta(days=1)
    windows = [Window(1, hm(9), hm(10)), Window(2, hm(9), hm(10))]
    overrides = {MONDAY: Override(MONDAY, available=False)}
    slots = slots_for(MONDAY, BERLIN, windows, Rules(30), overrides=overrides, days=2)
    assert starts(slots) == [z(2026, 6, 9, 7), z(2026, 6, 9, 7, 30)]
    assert all(wall(s.start, BERLIN).date() == tuesday for s in slots)


def test_override_windows_replace_the_weekly_windows_that_day() -> None:
    windows = [Window(1, hm(9), hm(12))]
    overrides = {MONDAY: Override(MONDAY, available=True, windows=((hm(14), hm(15)), (hm(8), hm(8, 30))))}
    slots = slots_for(MONDAY, BERLIN, windows, Rules(30), overrides=overrides)
    # 08:00, 14:00, 14:30 CEST; none of the weekly 09:00-12:00 slots.
    assert starts(slots) == [z(2026, 6, 8, 6), z(2026, 6, 8, 12), z(2026, 6, 8, 12, 30)]
    # The next Monday, without an override, is back to the weekly window.
    next_monday = slots_for(MONDAY + timedelta(days=7), BERLIN, windows, Rules(60))
    assert starts(next_monday) == [z(2026, 6, 15, 7), z(2026, 6, 15, 8), z(2026, 6, 15, 9)]


def test_override_opens_a_day_without_weekly_windows() -> None:
    saturday = date(2026, 6, 13)
    overrides = {saturday: Override(saturday, available=True, windows=((hm(10), hm(11)),))}
    slots = slots_for(saturday, ZULU, [Window(1, hm(9), hm(12))], Rules(60), overrides=overrides)
    assert slots == [Slot(z(2026, 6, 13, 10), z(2026, 6, 13, 11))]


# --- buffers ----------------------------------------------------------------------------------


def test_window_buffer_sets_the_step() -> None:
    slots = slots_for(MONDAY, ZULU, [Window(1, hm(9), hm(12), buffer_minutes=10)], Rules(30, buffer_minutes=5))
    # step = 30 + max(5, 10) = 40: 09:00, 09:40, 10:20, 11:00 (11:40 would end 12:10)
    assert starts(slots) == [z(2026, 6, 8, 9), z(2026, 6, 8, 9, 40), z(2026, 6, 8, 10, 20), z(2026, 6, 8, 11)]
    assert all(s.end - s.start == timedelta(minutes=30) for s in slots)


def test_type_buffer_sets_the_step_when_larger() -> None:
    slots = slots_for(MONDAY, ZULU, [Window(1, hm(9), hm(12), buffer_minutes=10)], Rules(30, buffer_minutes=15))
    # step = 30 + max(15, 10) = 45: 09:00, 09:45, 10:30, 11:15 (ends 11:45)
    assert starts(slots) == [
        z(2026, 6, 8, 9),
        z(2026, 6, 8, 9, 45),
        z(2026, 6, 8, 10, 30),
        z(2026, 6, 8, 11, 15),
    ]


def test_grid_reports_blocked_until_with_the_larger_buffer() -> None:
    pairs = grid(
        tz=ZULU,
        windows=[Window(1, hm(9), hm(10), buffer_minutes=10), Window(1, hm(11), hm(12), buffer_minutes=0)],
        overrides={},
        rules=Rules(30, buffer_minutes=5),
        range_start=z(2026, 6, 8, 0),
        range_end=z(2026, 6, 9, 0),
    )
    assert pairs == [
        (Slot(z(2026, 6, 8, 9), z(2026, 6, 8, 9, 30)), z(2026, 6, 8, 9, 40)),
        (Slot(z(2026, 6, 8, 11), z(2026, 6, 8, 11, 30)), z(2026, 6, 8, 11, 35)),
    ]  # 09:40 would end 10:10 and 11:35 would end 12:05: both past their window


# --- busy intervals ---------------------------------------------------------------------------

# 30-minute slots, 10-minute buffer, window 09:00-12:00 UTC on Monday:
# 09:00-09:30 [blocks to 09:40], 09:40-10:10 [10:20], 10:20-10:50 [11:00], 11:00-11:30 [11:40]
BUFFERED = [Window(1, hm(9), hm(12), buffer_minutes=10)]
ALL_BUFFERED = [z(2026, 6, 8, 9), z(2026, 6, 8, 9, 40), z(2026, 6, 8, 10, 20), z(2026, 6, 8, 11)]


def busy_starts(*intervals: tuple[datetime, datetime]) -> list[datetime]:
    return starts(slots_for(MONDAY, ZULU, BUFFERED, Rules(30), busy=[Interval(a, b) for a, b in intervals]))


def test_no_busy_offers_the_whole_grid() -> None:
    assert busy_starts() == ALL_BUFFERED


def test_busy_exactly_one_slot_with_its_buffer_removes_only_that_slot() -> None:
    assert busy_starts((z(2026, 6, 8, 9, 40), z(2026, 6, 8, 10, 20))) == [
        z(2026, 6, 8, 9),
        z(2026, 6, 8, 10, 20),
        z(2026, 6, 8, 11),
    ]


def test_busy_touching_a_slot_buffer_removes_the_slot() -> None:
    # [09:39, 09:40) lies inside the 09:00 slot's buffer, not in the 09:40 slot.
    assert busy_starts((z(2026, 6, 8, 9, 39), z(2026, 6, 8, 9, 40))) == ALL_BUFFERED[1:]


def test_busy_adjacent_on_both_sides_keeps_the_slot() -> None:
    # Ends exactly at 09:40 (slot start) and starts exactly at 10:20 (slot's blocked-until).
    got = busy_starts((z(2026, 6, 8, 9, 30), z(2026, 6, 8, 9, 40)), (z(2026, 6, 8, 10, 20), z(2026, 6, 8, 10, 21)))
    assert got == [z(2026, 6, 8, 9, 40), z(2026, 6, 8, 11)]


def test_busy_inside_a_slot_removes_it() -> None:
    assert busy_starts((z(2026, 6, 8, 11, 10), z(2026, 6, 8, 11, 11))) == ALL_BUFFERED[:3]


def test_busy_long_interval_hidden_behind_a_short_later_one() -> None:
    # The 11:00 slot is blocked by the long 08:00-11:05 interval even though the interval that starts
    # last before its blocked-until (10:30-10:31) ends well before it.
    got = busy_starts((z(2026, 6, 8, 8), z(2026, 6, 8, 11, 5)), (z(2026, 6, 8, 10, 30), z(2026, 6, 8, 10, 31)))
    assert got == []


def test_busy_order_does_not_matter() -> None:
    a = (z(2026, 6, 8, 11, 10), z(2026, 6, 8, 11, 20))
    b = (z(2026, 6, 8, 9, 0), z(2026, 6, 8, 9, 5))
    assert busy_starts(a, b) == busy_starts(b, a) == [z(2026, 6, 8, 9, 40), z(2026, 6, 8, 10, 20)]


def test_busy_on_another_day_changes_nothing() -> None:
    assert busy_starts((z(2026, 6, 9, 9), z(2026, 6, 9, 12))) == ALL_BUFFERED


# --- booking bounds ---------------------------------------------------------------------------


def test_earliest_and_latest_are_inclusive() -> None:
    rules = Rules(30, earliest=z(2026, 6, 8, 9, 40), latest=z(2026, 6, 8, 10, 20))
    assert starts(slots_for(MONDAY, ZULU, BUFFERED, rules)) == [z(2026, 6, 8, 9, 40), z(2026, 6, 8, 10, 20)]


def test_earliest_between_slots_excludes_the_one_before() -> None:
    rules = Rules(30, earliest=z(2026, 6, 8, 9, 1), latest=z(2026, 6, 8, 10, 59))
    assert starts(slots_for(MONDAY, ZULU, BUFFERED, rules)) == [z(2026, 6, 8, 9, 40), z(2026, 6, 8, 10, 20)]


BERLIN_WEEK = [Window(d, hm(9), hm(10)) for d in range(1, 8)]


def berlin_days(rules: Rules) -> list[date]:
    slots = slots_for(MONDAY, BERLIN, BERLIN_WEEK, rules, days=3)
    return [wall(s, BERLIN).date() for s in starts(slots)]


def test_same_day_not_allowed_uses_the_doctors_local_date() -> None:
    # 22:30Z on the 8th is already 00:30 on the 9th in Berlin: the 9th is "today".
    now = z(2026, 6, 8, 22, 30)
    assert berlin_days(Rules(60, same_day_allowed=False, now=now)) == [date(2026, 6, 8), date(2026, 6, 10)]
    assert berlin_days(Rules(60, same_day_allowed=True, now=now)) == [
        date(2026, 6, 8),
        date(2026, 6, 9),
        date(2026, 6, 10),
    ]


def test_same_day_cutoff_is_a_local_minute() -> None:
    # Cutoff 01:00 local. 22:55Z = 00:55 CEST on the 9th (before cutoff), 23:05Z = 01:05 CEST (after).
    before = Rules(60, same_day_cutoff_minute=hm(1), now=z(2026, 6, 8, 22, 55))
    after = Rules(60, same_day_cutoff_minute=hm(1), now=z(2026, 6, 8, 23, 5))
    assert berlin_days(before) == [date(2026, 6, 8), date(2026, 6, 9), date(2026, 6, 10)]
    assert berlin_days(after) == [date(2026, 6, 8), date(2026, 6, 10)]


def test_same_day_cutoff_boundary_minute_blocks() -> None:
    # Exactly at the cutoff minute today can no longer be booked.
    rules = Rules(60, same_day_cutoff_minute=hm(8), now=z(2026, 6, 9, 6))  # 08:00 CEST on the 9th
    assert berlin_days(rules) == [date(2026, 6, 8), date(2026, 6, 10)]


def test_same_day_rules_ignored_without_now() -> None:
    rules = Rules(60, same_day_allowed=False, same_day_cutoff_minute=0)
    assert len(berlin_days(rules)) == 3


def test_range_start_inclusive_range_end_exclusive() -> None:
    got = free_slots(
        tz=ZULU,
        windows=BUFFERED,
        overrides={},
        rules=Rules(30),
        range_start=z(2026, 6, 8, 9, 40),
        range_end=z(2026, 6, 8, 11),
    )
    assert starts(got) == [z(2026, 6, 8, 9, 40), z(2026, 6, 8, 10, 20)]


def test_slot_straddling_range_start_is_excluded() -> None:
    got = free_slots(
        tz=ZULU,
        windows=BUFFERED,
        overrides={},
        rules=Rules(30),
        range_start=z(2026, 6, 8, 9, 10),
        range_end=z(2026, 6, 8, 9, 41),
    )
    assert starts(got) == [z(2026, 6, 8, 9, 40)]


def test_result_is_utc_aware_and_sorted_whatever_the_input_order() -> None:
    windows = [Window(1, hm(14), hm(15)), Window(2, hm(8), hm(9)), Window(1, hm(9), hm(10))]
    range_start = datetime(2026, 6, 8, 0, 0, tzinfo=BERLIN)
    range_end = datetime(2026, 6, 10, 0, 0, tzinfo=BERLIN)
    got = free_slots(
        tz=BERLIN,
        windows=windows,
        overrides={},
        rules=Rules(60),
        range_start=range_start,
        range_end=range_end,
    )
    assert got == [
        Slot(z(2026, 6, 8, 7), z(2026, 6, 8, 8)),
        Slot(z(2026, 6, 8, 12), z(2026, 6, 8, 13)),
        Slot(z(2026, 6, 9, 6), z(2026, 6, 9, 7)),
    ]
    for s in got:
        assert s.start.tzinfo is not None and s.start.utcoffset() == timedelta(0)
        assert s.end.tzinfo is not None and s.end.utcoffset() == timedelta(0)


def test_overlapping_windows_never_give_overlapping_slots() -> None:
    windows = [Window(1, hm(9), hm(10)), Window(1, hm(9, 15), hm(10, 15)), Window(1, hm(9), hm(10))]
    got = slots_for(MONDAY, ZULU, windows, Rules(30))
    assert starts(got) == [z(2026, 6, 8, 9), z(2026, 6, 8, 9, 30)]


# --- is_offered -------------------------------------------------------------------------------


def offered(start: datetime, tz: ZoneInfo = ZULU, rules: Rules | None = None) -> tuple[Slot, datetime] | None:
    return is_offered(start, tz=tz, windows=BUFFERED, overrides={}, rules=rules or Rules(30))


def test_is_offered_returns_the_grid_slot_and_blocked_until() -> None:
    assert offered(z(2026, 6, 8, 10, 20)) == (
        Slot(z(2026, 6, 8, 10, 20), z(2026, 6, 8, 10, 50)),
        z(2026, 6, 8, 11),
    )


def test_is_offered_accepts_the_same_instant_in_another_zone() -> None:
    got = offered(datetime(2026, 6, 8, 12, 20, tzinfo=BERLIN))
    assert got == (Slot(z(2026, 6, 8, 10, 20), z(2026, 6, 8, 10, 50)), z(2026, 6, 8, 11))


@pytest.mark.parametrize(
    "start",
    [
        z(2026, 6, 8, 9, 10),  # off the grid
        z(2026, 6, 8, 9, 30),  # off the grid (a slot's end)
        z(2026, 6, 8, 11, 40),  # on the step but would end after the window
        z(2026, 6, 8, 13),  # outside the window
        z(2026, 6, 9, 9),  # right time, wrong weekday
        z(2026, 6, 8, 9) + timedelta(seconds=1),  # not on the minute
    ],
)
def test_is_offered_none_off_grid(start: datetime) -> None:
    assert offered(start) is None


def test_is_offered_respects_earliest() -> None:
    assert offered(z(2026, 6, 8, 9), rules=Rules(30, earliest=z(2026, 6, 8, 9, 1))) is None


def test_is_offered_around_dst() -> None:
    windows = [one_day_window(NY_FALL, 0, hm(3))]
    first = is_offered(z(2026, 11, 1, 5, 30), tz=NEW_YORK, windows=windows, overrides={}, rules=Rules(30))
    assert first == (Slot(z(2026, 11, 1, 5, 30), z(2026, 11, 1, 6)), z(2026, 11, 1, 6))
    # The second 01:30 (EST) is the same wall time: not offered again.
    assert is_offered(z(2026, 11, 1, 6, 30), tz=NEW_YORK, windows=windows, overrides={}, rules=Rules(30)) is None
    spring = [one_day_window(NY_SPRING, 0, hm(5))]
    # 07:30Z is 03:30 EDT, which is not on the 00:00 + k*60 grid.
    assert is_offered(z(2026, 3, 8, 7, 30), tz=NEW_YORK, windows=spring, overrides={}, rules=Rules(60)) is None
    assert is_offered(z(2026, 3, 8, 7), tz=NEW_YORK, windows=spring, overrides={}, rules=Rules(60)) is not None
