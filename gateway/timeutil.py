"""Parsing and showing instants and zones."""

from __future__ import annotations

import functools
import zoneinfo
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from gateway.errors import InvalidTimezone, ValidationFailed

EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)
"""Instants outside ``[EARLIEST, LATEST)`` are refused (422 ``instant_out_of_range``): a booking
calendar has no use for them, and arithmetic near year 1 or 9999 (a day either side, a zone's
offset) would overflow Python's ``datetime``."""


@functools.cache
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def zone(name: str, field: str = "tz") -> ZoneInfo:
    """The IANA zone ``name``.

    Raises:
        ValidationFailed: (``invalid_timezone``) for a name that is not an IANA zone.
    """
    if name not in _zones():
        raise InvalidTimezone(f"{field}: {name!r} is not an IANA time zone (e.g. Europe/Berlin)", field=field)
    return ZoneInfo(name)


def instant(raw: str, field: str) -> datetime:
    """An ISO 8601 instant with an offset or ``Z``, as an aware UTC datetime.

    Raises:
        ValidationFailed: for anything else, naive times included.
    """
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        raise ValidationFailed(
            f"{field}: {raw!r} is not an ISO 8601 instant (e.g. 2026-05-04T09:00:00Z)", field=field
        ) from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise ValidationFailed(f"{field}: {raw!r} has no offset; add Z or +HH:MM", field=field)
    return within_range(parsed, field)


def within_range(moment: datetime, field: str) -> datetime:
    """``moment`` (aware) in UTC, when it lies in ``[EARLIEST, LATEST)``.

    Raises:
        ValidationFailed: (``instant_out_of_range``) otherwise, also when UTC cannot even hold it.
    """
    try:
        utc = moment.astimezone(UTC)
    except OverflowError:  # e.g. 9999-12-31T23:00-05:00 is in year 10000 in UTC
        utc = None
    if utc is None or not EARLIEST <= utc < LATEST:
        raise ValidationFailed(
            f"{field}: {moment.isoformat()} is outside the calendar this gateway serves"
            f" ({EARLIEST.year} to {LATEST.year - 1})",
            code="instant_out_of_range",
            field=field,
        )
    return utc


def show(moment: datetime, tz: ZoneInfo | None) -> str:
    """An instant as ISO 8601: UTC with ``Z``, or in ``tz`` with its offset."""
    if tz is None:
        return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return moment.astimezone(tz).isoformat()


def utcnow() -> datetime:
    return datetime.now(UTC)
