"""What Redis is rebuilt from: Postgres' booked intervals, read for the hold engine.

The engine asks these two questions of the store and nothing else of the booking service, so it
is given these functions (bound to the pool) when the process wires its services: the engine
needs no booking service, and the booking service is built on the engine, one way.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from gateway.timeutil import utcnow
from holds.engine import BookedInterval
from store import appointments as appointments_repo
from store.types import Conn


async def booked_intervals(db: Conn, doctor_id: uuid.UUID) -> list[BookedInterval]:
    """A doctor's booked intervals that still matter, for re-warming Redis."""
    now = utcnow()
    rows = await appointments_repo.booked_between(db, doctor_id, now, now + timedelta(days=3660))
    return [BookedInterval(i, s, b) for i, s, b in rows]


async def stale_interval(db: Conn, appointment_id: uuid.UUID) -> tuple[datetime, datetime, datetime] | None:
    """The interval of an appointment that holds booked cells in Redis but no longer blocks
    anything in Postgres (cancelled or moved while Redis was unreachable), else ``None``."""
    appointment = await appointments_repo.get(db, appointment_id)
    if appointment is None or appointment.status in appointments_repo.ACTIVE_STATUSES:
        return None  # still booked (or gone entirely: its cells expire at its end)
    return appointment.starts_at, appointment.ends_at, appointment.blocked_until
