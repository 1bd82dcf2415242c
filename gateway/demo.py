"""``gateway demo``: an idempotent demo clinic (organisation slug ``demo``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gateway.settings import Settings
from store import clinic as repo
from store.pool import open_pool
from store.types import Conn

DOCTORS = (("Dr. Ada Lovelace", "Europe/Berlin"), ("Dr. Grace Hopper", "America/New_York"))
TYPES = (
    {"name": "Video consultation (30 min)", "duration_minutes": 30, "hold_ttl_seconds": 300},
    {
        "name": "Long consultation (60 min)",
        "duration_minutes": 60,
        "hold_ttl_seconds": 600,
        "buffer_minutes": 10,
    },
)
TYPE_DEFAULTS: dict[str, Any] = {
    "hold_ttl_seconds": 900, "buffer_minutes": 0, "min_notice_minutes": 0, "max_advance_days": 60,
    "same_day_allowed": True, "same_day_cutoff_minute": None, "cancellation_notice_minutes": 0,
    "max_reschedules": None, "rebooking_mode": "same_doctor", "requires_approval": False,
    "max_active_per_patient": None, "payment_mode": "none", "fee_cents": None, "token_amount_cents": None,
    "advance_percent": None, "currency": "EUR",
}  # fmt: skip
# Monday to Friday 08:00-12:00 and 13:00-17:00; Saturday 09:00-12:00 (local time of each doctor).
WINDOWS = [(d, 480, 720) for d in range(1, 6)] + [(d, 780, 1020) for d in range(1, 6)] + [(6, 540, 720)]


@dataclass
class Demo:
    organisation_id: str
    doctors: list[tuple[str, str, str]]  # id, name, zone
    types: list[tuple[str, str]]  # id, name


async def seed(settings: Settings) -> Demo:
    """Create the demo clinic once; later calls find and return it."""
    pool = await open_pool(settings.database)
    try:
        async with pool.acquire() as conn, conn.transaction():
            # Serialise concurrent seeders (two `make run` at once) on one advisory lock.
            await repo.lock_seeding(conn)
            return await _seed(conn)
    finally:
        await pool.close()


async def _seed(conn: Conn) -> Demo:
    org = await repo.get_organisation_by_slug(conn, "demo")
    if org is None:
        org = await repo.create_organisation(conn, "Demo Clinic", "demo")
    doctors = {d.name: d for d in await repo.list_doctors(conn, org.id)}
    for name, tz in DOCTORS:
        if name not in doctors:
            doctor = await repo.create_doctor(conn, org.id, name, tz)
            doctors[name] = doctor
            for weekday, start, end in WINDOWS:
                await repo.create_window(
                    conn,
                    doctor.id,
                    {"weekday": weekday, "start_minute": start, "end_minute": end, "buffer_minutes": 0,
                     "valid_from": None, "valid_until": None, "active": True},
                )  # fmt: skip
    types = {t.name: t for t in await repo.list_types(conn, org.id)}
    for spec in TYPES:
        if spec["name"] not in types:
            types[str(spec["name"])] = await repo.create_type(conn, org.id, TYPE_DEFAULTS | spec)
    return Demo(
        organisation_id=str(org.id),
        doctors=[(str(doctors[n].id), n, tz) for n, tz in DOCTORS],
        types=[(str(types[str(s["name"])].id), str(s["name"])) for s in TYPES],
    )
