"""The appointment type's booking rules, checked against one start (clear reasons, no I/O)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime
from zoneinfo import ZoneInfo

from gateway import availability as av
from gateway.errors import NotBookable


def offered_or_raise(
    start: datetime,
    *,
    tz: ZoneInfo,
    windows: Sequence[av.Window],
    overrides: Mapping[date, av.Override],
    rules: av.Rules,
) -> tuple[av.Slot, datetime]:
    """The grid slot at ``start`` with its blocked-until, if the type's rules allow it now.

    Raises:
        NotBookable: 422 ``not_bookable`` with a ``reason``: ``off_grid`` (not a slot of the
            doctor's windows), ``notice`` (too soon), ``advance`` (too far ahead) or ``same_day``.
    """
    plain = replace(rules, earliest=None, latest=None, same_day_allowed=True, same_day_cutoff_minute=None)
    found = av.is_offered(start, tz=tz, windows=windows, overrides=overrides, rules=plain)
    if found is None:
        raise NotBookable(
            "No such slot: the start is off the slot grid or outside the doctor's windows.", reason="off_grid"
        )
    if rules.earliest is not None and start < rules.earliest:
        raise NotBookable("This slot starts too soon for this appointment type's notice.", reason="notice")
    if rules.latest is not None and start > rules.latest:
        raise NotBookable("This slot is further ahead than this appointment type may be booked.", reason="advance")
    # the same-day rules are all the full rules add to the plain ones (grid() applies no other)
    if av.same_day_blocked(start, tz, rules):
        raise NotBookable("This appointment type cannot be booked for today any more.", reason="same_day")
    return found
