"""The per-process schedule cache: doctors, appointment types, windows and overrides.

Every hold and every ``/slots`` call needs the doctor, the type, the weekly windows and the date
overrides; reading them from Postgres took four sequential queries per hold, which capped the
hold path at a few hundred a second. They change rarely (staff edits), so each process keeps
them in memory:

* a change made through this process is forgotten at once (:meth:`ScheduleCache.forget`, called
  from :meth:`holds.engine.HoldEngine.resync`, which every window, override and type edit calls);
* every other process forgets it when its hub sees that edit's ``resync`` event on Redis pub/sub
  (milliseconds later), and forgets everything when its subscription was cut (events may be lost);
* whatever happens, nothing is kept longer than ``ttl_seconds`` (a few seconds): the safety net.

A load that started before a change and ends after it is not kept (a generation counter), so a
slow query can never put a stale schedule back after the change was announced. Concurrent misses
of one key share one query (a cold cache under load does not become a stampede).

Postgres stays the arbiter of what must never happen (overlaps); at worst, for those few
milliseconds, another process offers or holds a slot by the schedule as it was a moment ago.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, TypeVar

from gateway import availability as av
from gateway.timeutil import utcnow
from store import clinic as clinic_repo
from store.models import AppointmentType, Doctor
from store.types import Pool

T = TypeVar("T")

OVERRIDE_LOOKBACK_DAYS = 3
"""Overrides are kept from this many days before today (UTC) on; older ranges go to Postgres."""


@dataclass(frozen=True, slots=True)
class Calendar:
    """A doctor's weekly windows and date overrides (from ``since`` on)."""

    windows: list[av.Window]
    overrides: dict[date, av.Override]
    since: date


class ScheduleCache:
    """Doctors, types and calendars by id, each kept for at most ``ttl_seconds``.

    Args:
        db: the pool the schedule is read from.
        ttl_seconds: the longest anything is kept; ``0`` turns the cache off.
    """

    def __init__(self, db: Pool, ttl_seconds: float = 5.0) -> None:
        self.db = db
        self.ttl = ttl_seconds
        self._kept: dict[str, dict[uuid.UUID, tuple[float, Any]]] = {"doctor": {}, "type": {}, "calendar": {}}
        self._loading: dict[tuple[str, uuid.UUID], asyncio.Future[Any]] = {}
        self._generation = 0
        self.hits = 0
        self.misses = 0

    def forget(self, doctor_id: uuid.UUID | str | None = None) -> None:
        """Drop what is kept of one doctor and every type (a type edit resyncs the type's
        doctors), or everything with ``None``."""
        self._generation += 1
        if doctor_id is None:
            for kept in self._kept.values():
                kept.clear()
            return
        key = doctor_id if isinstance(doctor_id, uuid.UUID) else uuid.UUID(doctor_id)
        self._kept["doctor"].pop(key, None)
        self._kept["calendar"].pop(key, None)
        self._kept["type"].clear()

    async def doctor(self, doctor_id: uuid.UUID) -> Doctor | None:
        """The doctor, or ``None`` when there is no such doctor (not kept)."""
        return await self._get("doctor", doctor_id, lambda: clinic_repo.get_doctor(self.db, doctor_id))

    async def appointment_type(self, type_id: uuid.UUID) -> AppointmentType | None:
        """The appointment type, or ``None`` when there is no such type (not kept)."""
        return await self._get("type", type_id, lambda: clinic_repo.get_type(self.db, type_id))

    async def calendar(self, doctor_id: uuid.UUID, day_first: date, day_last: date) -> Calendar:
        """The windows and overrides that may apply between two local dates."""
        kept = await self._get("calendar", doctor_id, lambda: self._load_calendar(doctor_id))
        if day_first >= kept.since:
            return kept
        # a range reaching back before what is kept (slots of past days): ask Postgres
        return await self._load_calendar(doctor_id, day_first, day_last)

    async def _load_calendar(
        self, doctor_id: uuid.UUID, first: date | None = None, last: date | None = None
    ) -> Calendar:
        since = first if first is not None else utcnow().date() - timedelta(days=OVERRIDE_LOOKBACK_DAYS)
        until = last if last is not None else date.max
        windows = [
            av.Window(w.weekday, w.start_minute, w.end_minute, w.buffer_minutes, w.valid_from, w.valid_until)
            for w in await clinic_repo.active_windows(self.db, doctor_id, since, until)
        ]
        overrides = {
            o.date: av.Override(o.date, o.available, tuple((w.start_minute, w.end_minute) for w in o.windows))
            for o in await clinic_repo.list_overrides(self.db, doctor_id, since, until)
        }
        return Calendar(windows, overrides, since)

    async def _get(self, kind: str, key: uuid.UUID, load: Callable[[], Awaitable[T]]) -> T:
        kept = self._kept[kind]
        now = time.monotonic()
        found = kept.get(key)
        if found is not None and found[0] > now:
            self.hits += 1
            value: T = found[1]
            return value
        self.misses += 1
        if self.ttl <= 0:
            return await load()
        pending = self._loading.get((kind, key))
        if pending is not None:
            # share the query already running; a waiter's own cancellation never cancels it
            await asyncio.wait({pending})
            if not pending.cancelled():
                shared: T = pending.result()
                return shared
            return await load()
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._loading[(kind, key)] = future
        generation = self._generation
        try:
            value = await load()
        except asyncio.CancelledError:
            future.cancel()
            raise
        except Exception as exc:
            future.set_exception(exc)
            future.exception()  # marked retrieved: waiters re-raise it, nobody logs it as lost
            raise
        finally:
            self._loading.pop((kind, key), None)
        future.set_result(value)
        # a load that overlapped a change may hold the old schedule: use it once, keep it not
        if value is not None and generation == self._generation:
            kept[key] = (now + self.ttl, value)
        return value
